// `homeassistant:` in edgebus.yaml (README "Home Assistant"): MQTT discovery of every device
// the gateway has seen. The classes Home Assistant accepts are listed here, below the
// discovery code, so a misspelt override is a config error with its line, not an entity
// Home Assistant silently refuses.
import { Type } from '@sinclair/typebox';

/** Home Assistant's sensor device classes (its SensorDeviceClass). */
export const SENSOR_DEVICE_CLASSES = [
  'apparent_power', 'aqi', 'area', 'atmospheric_pressure', 'battery', 'blood_glucose_concentration',
  'carbon_dioxide', 'carbon_monoxide', 'conductivity', 'current', 'data_rate', 'data_size', 'date',
  'distance', 'duration', 'energy', 'energy_distance', 'energy_storage', 'enum', 'frequency', 'gas',
  'humidity', 'illuminance', 'irradiance', 'moisture', 'monetary', 'nitrogen_dioxide', 'nitrogen_monoxide',
  'nitrous_oxide', 'ozone', 'ph', 'pm1', 'pm10', 'pm25', 'power', 'power_factor', 'precipitation',
  'precipitation_intensity', 'pressure', 'reactive_power', 'signal_strength', 'sound_pressure', 'speed',
  'sulphur_dioxide', 'temperature', 'timestamp', 'volatile_organic_compounds', 'volatile_organic_compounds_parts',
  'voltage', 'volume', 'volume_flow_rate', 'volume_storage', 'water', 'weight', 'wind_direction', 'wind_speed',
] as const;

/** Home Assistant's sensor state classes. */
export const SENSOR_STATE_CLASSES = ['measurement', 'total', 'total_increasing'] as const;

export type SensorDeviceClass = (typeof SENSOR_DEVICE_CLASSES)[number];
export type SensorStateClass = (typeof SENSOR_STATE_CLASSES)[number];

/** One `enum` keyword (null included), so a bad value gives one error listing the choices. */
const enumOrNull = <const T extends readonly string[]>(values: T) =>
  Type.Optional(Type.Unsafe<T[number] | null>({ type: ['string', 'null'], enum: [...values, null] }));

const SensorOverrideSchema = Type.Object({
  deviceClass: enumOrNull(SENSOR_DEVICE_CLASSES),
  stateClass: enumOrNull(SENSOR_STATE_CLASSES),
  unit: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, description: 'unit_of_measurement shown in Home Assistant, null for none' })),
}, { additionalProperties: false });

export const HomeAssistantSchema = Type.Object({
  enabled: Type.Boolean({ default: true }),
  prefix: Type.String({ pattern: '^[^/#+\\s]+(/[^/#+\\s]+)*$', default: 'homeassistant', description: 'a discovery prefix of topic levels without #, + or spaces' }),
  broker: Type.Unsafe<'local' | 'upstream'>({ type: 'string', enum: ['local', 'upstream'], default: 'local' }),
  // Keyed `sensor` (every device's) or `device/sensor` (one device's, which wins).
  sensors: Type.Record(Type.String({ minLength: 1 }), SensorOverrideSchema, { default: {} }),
}, { additionalProperties: false, default: {} });
