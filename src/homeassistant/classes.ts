// What Home Assistant should call a sensor: its device_class, state_class and unit, derived
// from the unit the readings carry and the sensor's name, with the config's overrides on
// top. Home Assistant refuses a device_class whose unit it does not know (a temperature in
// "C" is an error in its log, not a graph), so units are written the way it spells them.
import type { SensorDeviceClass, SensorStateClass } from '../config/homeassistant-schema.js';
import type { HaSensorOverride } from '../config/types.js';

export interface SensorClasses {
  deviceClass: SensorDeviceClass | null;
  stateClass: SensorStateClass | null;
  unit: string | null;
}

/** Units as devices write them → as Home Assistant spells them. */
const UNIT_SPELLING: ReadonlyMap<string, string> = new Map([
  ['c', '°C'], ['degc', '°C'], ['celsius', '°C'], ['°c', '°C'],
  ['f', '°F'], ['degf', '°F'], ['fahrenheit', '°F'], ['°f', '°F'],
  ['k', 'K'], ['%', '%'], ['percent', '%'], ['%rh', '%'], ['rh', '%'],
  ['kwh', 'kWh'], ['wh', 'Wh'], ['mwh', 'MWh'], ['w', 'W'], ['kw', 'kW'],
  ['v', 'V'], ['mv', 'mV'], ['a', 'A'], ['ma', 'mA'], ['hz', 'Hz'], ['va', 'VA'],
  ['pa', 'Pa'], ['hpa', 'hPa'], ['kpa', 'kPa'], ['bar', 'bar'], ['mbar', 'mbar'], ['psi', 'psi'],
  ['lx', 'lx'], ['lux', 'lx'], ['ppm', 'ppm'], ['ppb', 'ppb'], ['µg/m³', 'µg/m³'], ['ug/m3', 'µg/m³'],
  ['dbm', 'dBm'], ['db', 'dB'], ['m/s', 'm/s'], ['km/h', 'km/h'],
  ['m³', 'm³'], ['m3', 'm³'], ['l', 'L'], ['ml', 'mL'], ['l/min', 'L/min'], ['m³/h', 'm³/h'], ['m3/h', 'm³/h'],
  ['kg', 'kg'], ['g', 'g'], ['mm', 'mm'], ['cm', 'cm'], ['m', 'm'], ['km', 'km'],
  ['s', 's'], ['ms', 'ms'], ['min', 'min'], ['h', 'h'], ['µs/cm', 'µS/cm'], ['us/cm', 'µS/cm'],
]);

/** A unit that says by itself what is measured. */
const CLASS_OF_UNIT: ReadonlyMap<string, SensorDeviceClass> = new Map([
  ['°C', 'temperature'], ['°F', 'temperature'], ['K', 'temperature'],
  ['kWh', 'energy'], ['Wh', 'energy'], ['MWh', 'energy'],
  ['W', 'power'], ['kW', 'power'], ['VA', 'apparent_power'],
  ['V', 'voltage'], ['mV', 'voltage'], ['A', 'current'], ['mA', 'current'], ['Hz', 'frequency'],
  ['Pa', 'pressure'], ['hPa', 'pressure'], ['kPa', 'pressure'], ['bar', 'pressure'], ['mbar', 'pressure'], ['psi', 'pressure'],
  ['lx', 'illuminance'], ['dBm', 'signal_strength'], ['µS/cm', 'conductivity'],
  ['L/min', 'volume_flow_rate'], ['m³/h', 'volume_flow_rate'],
]);

/** Units shared by several classes: the sensor's name decides (`soil_moisture` in %). */
const CLASS_BY_NAME: readonly [RegExp, SensorDeviceClass, readonly string[]][] = [
  [/humid/i, 'humidity', ['%']],
  [/moist/i, 'moisture', ['%']],
  [/batt/i, 'battery', ['%']],
  [/co2|carbon.?dioxide/i, 'carbon_dioxide', ['ppm']],
  [/pm2\.?5/i, 'pm25', ['µg/m³']],
  [/pm10/i, 'pm10', ['µg/m³']],
  [/rssi|signal/i, 'signal_strength', ['dB', 'dBm']],
  [/wind/i, 'wind_speed', ['m/s', 'km/h']],
  [/gas/i, 'gas', ['m³']],
  [/water/i, 'water', ['m³', 'L']],
  [/weight|mass/i, 'weight', ['kg', 'g']],
  [/dist|level|depth/i, 'distance', ['mm', 'cm', 'm', 'km']],
  [/duration|uptime|runtime/i, 'duration', ['s', 'ms', 'min', 'h']],
];

/** Counters that only grow (a meter's reading): Home Assistant computes their increase. */
const TOTAL_INCREASING: ReadonlySet<SensorDeviceClass> = new Set(['energy', 'gas', 'water']);

/** The unit as Home Assistant spells it; an unknown unit passes as written. */
export function haUnit(unit: string | null): string | null {
  if (unit === null || unit === '') return null;
  return UNIT_SPELLING.get(unit.toLowerCase()) ?? unit;
}

function derivedClass(sensor: string, unit: string | null): SensorDeviceClass | null {
  if (unit === null) return null;
  for (const [name, cls, units] of CLASS_BY_NAME) if (name.test(sensor) && units.includes(unit)) return cls;
  return CLASS_OF_UNIT.get(unit) ?? null;
}

/**
 * A sensor's classes: derived from its unit and name, then the override (`device/sensor`
 * before `sensor`) replaces what it sets. A numeric sensor without a class is still a
 * `measurement`, so Home Assistant keeps its long-term statistics; a text one has none.
 */
export function sensorClasses(sensor: string, unit: string | null, numeric: boolean, override: HaSensorOverride | undefined): SensorClasses {
  // Home Assistant takes a sensor with a unit for a number and logs an error per text state.
  const haU = override?.unit !== undefined ? override.unit : numeric ? haUnit(unit) : null;
  const deviceClass = override?.deviceClass !== undefined ? override.deviceClass : derivedClass(sensor, haU);
  let stateClass: SensorStateClass | null = null;
  if (override?.stateClass !== undefined) stateClass = override.stateClass;
  else if (deviceClass !== null && TOTAL_INCREASING.has(deviceClass)) stateClass = 'total_increasing';
  else if (numeric) stateClass = 'measurement';
  return { deviceClass, stateClass, unit: haU };
}
