// The messages Home Assistant's MQTT discovery reads (README "Home Assistant"): one retained
// config per entity on `<prefix>/<component>/<node_id>/<object_id>/config`, and where the
// gateway publishes what those configs point at. Pure functions of what the gateway knows;
// the service (service.ts) decides when to publish them.
import type { HaSensorOverride } from '../config/types.js';
import type { JsonValue } from '../events/types.js';
import { sensorClasses } from './classes.js';

/** What discovery needs to know of a device: the device-state projection with its profile merged in. */
export interface KnownDevice {
  id: string;
  status: { state: string | null } | null;
  /** model, manufacturer, firmware, hardware, description (from its statuses and profile). */
  metadata: { [key: string]: JsonValue };
  sensors: { [sensor: string]: { value: JsonValue; unit: string | null; timestamp: string } };
}

export interface DiscoveryNaming {
  gatewayId: string;
  prefix: string;
  version: string;
  /** Per-sensor overrides, keyed `sensor` or `device/sensor`. */
  overrides: { [key: string]: HaSensorOverride };
}

export type Availability = 'online' | 'offline';

/** Home Assistant's object and node ids take letters, digits, `_` and `-` only. */
export function objectId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A topic level from a name: `/`, `+` and `#` would change the topic's shape. */
function level(name: string): string {
  return name.replace(/[/+#]/g, '_');
}

/** Where the gateway's own availability is: the upstream link's retained status and Will, or its local twin. */
export function gatewayStatusTopic(gatewayId: string): string {
  return `edgebus/${gatewayId}/status`;
}

export function homeAssistantStatusTopic(prefix: string): string {
  return `${prefix}/status`;
}

/** The topics of one device's entities, kept per device so a removal clears exactly them. */
export class Topics {
  private readonly base: string;

  constructor(private readonly n: DiscoveryNaming) {
    this.base = `edgebus/${n.gatewayId}/ha`;
  }

  sensorConfig(device: string, sensor: string): string {
    return `${this.n.prefix}/sensor/${objectId(`${this.n.gatewayId}_${device}`)}/${objectId(sensor)}/config`;
  }

  sensorState(device: string, sensor: string): string {
    return `${this.base}/device/${level(device)}/${level(sensor)}`;
  }

  deviceAvailability(device: string): string {
    return `${this.base}/device/${level(device)}/availability`;
  }

  gatewayConfig(): string {
    return `${this.n.prefix}/binary_sensor/${objectId(this.n.gatewayId)}/connectivity/config`;
  }

  alertConfig(rule: string, group: string): string {
    return `${this.n.prefix}/binary_sensor/${objectId(this.n.gatewayId)}/${objectId(alertName(rule, group))}/config`;
  }

  alertState(rule: string, group: string): string {
    return group === rule ? `${this.base}/alert/${level(rule)}` : `${this.base}/alert/${level(rule)}/${level(group)}`;
  }
}

/** `rule` for an ungrouped rule (its group is its id), `rule_group` otherwise. */
function alertName(rule: string, group: string): string {
  return group === rule ? `alert_${rule}` : `alert_${rule}_${group}`;
}

/** What readings carry goes out as JSON, so one template reads numbers and text alike. */
export const VALUE_TEMPLATE = '{{ value_json }}';
/** The gateway's status is a JSON object (the upstream link's format). */
export const GATEWAY_AVAILABILITY_TEMPLATE = '{{ value_json.state }}';

function text(v: JsonValue | undefined): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function gatewayIdentifier(gatewayId: string): string {
  return `edgebus_${objectId(gatewayId)}`;
}

type Json = { [key: string]: JsonValue };

function origin(n: DiscoveryNaming): Json {
  return { name: 'edgebus', sw_version: n.version };
}

function gatewayDevice(n: DiscoveryNaming): Json {
  return { identifiers: [gatewayIdentifier(n.gatewayId)], name: n.gatewayId, manufacturer: 'edgebus', model: 'edgebus gateway', sw_version: n.version };
}

function deviceBlock(n: DiscoveryNaming, d: KnownDevice): Json {
  const block: Json = { identifiers: [`${gatewayIdentifier(n.gatewayId)}_${objectId(d.id)}`], name: d.id };
  const model = text(d.metadata.model) ?? text(d.metadata.description);
  if (model !== undefined) block.model = model;
  const manufacturer = text(d.metadata.manufacturer);
  if (manufacturer !== undefined) block.manufacturer = manufacturer;
  const sw = text(d.metadata.firmware);
  if (sw !== undefined) block.sw_version = sw;
  const hw = text(d.metadata.hardware);
  if (hw !== undefined) block.hw_version = hw;
  block.via_device = gatewayIdentifier(n.gatewayId);
  return block;
}

/** Own keys only: a sensor named `constructor` has no override. */
function override(n: DiscoveryNaming, key: string): HaSensorOverride | undefined {
  return Object.hasOwn(n.overrides, key) ? n.overrides[key] : undefined;
}

function isNumeric(v: JsonValue): boolean {
  return typeof v === 'number';
}

/** One retained config per sensor of the device: topic → JSON. */
export function sensorConfigs(n: DiscoveryNaming, topics: Topics, d: KnownDevice): Map<string, string> {
  const out = new Map<string, string>();
  const device = deviceBlock(n, d);
  const availability: Json[] = [
    { topic: gatewayStatusTopic(n.gatewayId), value_template: GATEWAY_AVAILABILITY_TEMPLATE, payload_available: 'online', payload_not_available: 'offline' },
    { topic: topics.deviceAvailability(d.id), payload_available: 'online', payload_not_available: 'offline' },
  ];
  for (const [name, s] of Object.entries(d.sensors)) {
    const c = sensorClasses(name, s.unit, isNumeric(s.value), override(n, `${d.id}/${name}`) ?? override(n, name));
    const config: Json = {
      name, unique_id: `${gatewayIdentifier(n.gatewayId)}_${objectId(d.id)}_${objectId(name)}`,
      state_topic: topics.sensorState(d.id, name), value_template: VALUE_TEMPLATE,
    };
    if (c.unit !== null) config.unit_of_measurement = c.unit;
    if (c.deviceClass !== null) config.device_class = c.deviceClass;
    if (c.stateClass !== null) config.state_class = c.stateClass;
    config.availability = availability;
    config.availability_mode = 'all';
    config.device = device;
    config.origin = origin(n);
    out.set(topics.sensorConfig(d.id, name), JSON.stringify(config));
  }
  return out;
}

/** A rule's alert (per group) as a `problem` binary_sensor of the gateway, ON while raised. */
export function alertConfig(n: DiscoveryNaming, topics: Topics, rule: string, group: string): string {
  return JSON.stringify({
    name: group === rule ? `Alert ${rule}` : `Alert ${rule} ${group}`,
    unique_id: `${gatewayIdentifier(n.gatewayId)}_${objectId(alertName(rule, group))}`,
    state_topic: topics.alertState(rule, group),
    device_class: 'problem', payload_on: 'ON', payload_off: 'OFF',
    availability: [{ topic: gatewayStatusTopic(n.gatewayId), value_template: GATEWAY_AVAILABILITY_TEMPLATE, payload_available: 'online', payload_not_available: 'offline' }],
    availability_mode: 'all',
    device: gatewayDevice(n),
    origin: origin(n),
  });
}

/**
 * The gateway as a device of its own, whose one entity says whether it is connected: the
 * device each sensor's `via_device` names, present even without alert rules.
 */
export function gatewayConfig(n: DiscoveryNaming): string {
  return JSON.stringify({
    name: 'Connected',
    unique_id: `${gatewayIdentifier(n.gatewayId)}_connectivity`,
    state_topic: gatewayStatusTopic(n.gatewayId),
    value_template: "{{ 'ON' if value_json.state == 'online' else 'OFF' }}",
    device_class: 'connectivity', payload_on: 'ON', payload_off: 'OFF',
    device: gatewayDevice(n),
    origin: origin(n),
  });
}

/** A device that said it is offline is unavailable; one that reads (or said anything else) is available. */
export function availabilityOf(status: { state: string | null } | null): Availability {
  return status?.state === 'offline' ? 'offline' : 'online';
}

/** The state payload of a reading: its value as JSON (the template is `{{ value_json }}`). */
export function statePayload(value: JsonValue): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}
