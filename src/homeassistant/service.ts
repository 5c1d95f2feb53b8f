// Home Assistant MQTT discovery as a component of the gateway (README "Home Assistant"):
// follows the committed events, publishes a device's configs when what Home Assistant
// shows of it changes (a new device or sensor, a unit, metadata), each reading's value on
// its state topic, the device's availability when its status changes, alerts as they are
// raised and cleared, and clears what retention removed. Everything is retained, so Home
// Assistant finds it whenever it connects; `<prefix>/status` `online` republishes the lot.
import { METADATA_KEYS, deviceOf } from '../store/device-state.js';
import type { EdgeEvent, JsonValue } from '../events/types.js';
import type { EventBus, StoredAlert } from '../pipeline/bus.js';
import type { Logger } from '../util/log.js';
import {
  Topics, alertConfig, availabilityOf, gatewayConfig, gatewayStatusTopic, sensorConfigs, statePayload,
  type Availability, type DiscoveryNaming, type KnownDevice,
} from './discovery.js';

export interface HomeAssistantOptions {
  naming: DiscoveryNaming;
  bus: EventBus;
  log: Logger;
  /** Publishes retained at QoS 1 on the broker Home Assistant reads; rejects when it cannot. */
  publish: (topic: string, payload: string) => Promise<void>;
  /** Every device of the projection, profiles merged in (at the start and on a republish). */
  devices: () => Promise<KnownDevice[]>;
  /** One device, read again when what Home Assistant shows of it may have changed. */
  device: (id: string) => Promise<KnownDevice | null>;
  /**
   * The gateway's status topic is this component's to publish (the local broker: its
   * availability is the broker itself); false where the upstream link's Will owns it.
   */
  ownsGatewayStatus: boolean;
}

/** What the hot path compares a reading with, per sensor. */
interface SensorSeen {
  unit: string | null;
  numeric: boolean;
  timestamp: string;
  stateTopic: string;
  /** The newest value, and whether it waits in `pending` to be published. */
  value: JsonValue;
  pending: boolean;
}

interface DeviceSeen {
  sensors: Map<string, SensorSeen>;
  availability: Availability | null;
  /** The config topics published for it: what a removal clears. */
  configTopics: Set<string>;
}

const OWNER = 'homeassistant';
/**
 * States go out at most this often per sensor, the newest value each time: Home Assistant
 * shows a value, not a stream, and a publish per reading cost ~4.5 µs an event (1,000
 * sensors in groups of 200) against 0.1–0.2 µs for keeping the newest value aside.
 */
const STATE_INTERVAL_MS = 1_000;
/** Up to this many changed devices are read one by one; more, in one read of the whole projection. */
const FEW = 8;

export class HomeAssistant {
  private readonly topics: Topics;
  private readonly seen = new Map<string, DeviceSeen>();
  /** Every config published, topic → payload: a config goes out again only when it differs. */
  private readonly configs = new Map<string, string>();
  private readonly alerts = new Map<string, 'ON' | 'OFF'>();
  /** Devices whose configs are to be read again, and the chain that does it one at a time. */
  private readonly dirty = new Set<string>();
  private work: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Sensors whose newest value is not published yet, and when states last went out. */
  private pending: SensorSeen[] = [];
  private stateTimer: NodeJS.Timeout | null = null;
  private lastStates = -Infinity;
  private failures = 0;
  /** When this gateway came up: a republished `online` keeps it, as the link's status does per connection. */
  private readonly since = new Date().toISOString();

  constructor(private readonly opts: HomeAssistantOptions) {
    this.topics = new Topics(opts.naming);
  }

  start(): void {
    const { bus } = this.opts;
    bus.on(OWNER, 'appended', (events) => this.appended(events));
    bus.on(OWNER, 'alert', (a) => this.alert(a));
    bus.on(OWNER, 'devicesForgotten', (ids) => this.queue(() => this.forget(ids)));
    // The start does not wait for the whole projection to be published: a large one takes a while.
    this.queue(() => this.publishAll());
  }

  /** Home Assistant said it (re)started: everything again, as it forgot what it was not retained. */
  homeAssistantStatus(payload: Buffer): void {
    if (payload.toString('utf8').trim() === 'online') this.republish();
  }

  /** Everything again: Home Assistant came back, or the broker it reads may have lost it. */
  republish(): void {
    this.queue(() => this.publishAll());
  }

  /**
   * The alerts raised before this start and not cleared, as the rules rebuilt them from the
   * log: shown ON again (a live raise or clear since then has the last word).
   */
  restoreAlerts(active: readonly { rule: string; group: string }[]): void {
    for (const a of active) {
      const key = JSON.stringify([a.rule, a.group]);
      if (this.alerts.has(key)) continue;
      this.alerts.set(key, 'ON');
      this.queueAlert(a.rule, a.group, key);
    }
  }

  /** Resolves once what was queued so far is published (tests and the stop). */
  idle(): Promise<void> {
    return this.work;
  }

  async stop(): Promise<void> {
    this.opts.bus.removeOwner(OWNER);
    if (this.stateTimer !== null) {
      clearTimeout(this.stateTimer);
      this.publishStates();
    }
    await this.work;
    this.stopped = true;
    if (this.opts.ownsGatewayStatus) await this.send(gatewayStatusTopic(this.opts.naming.gatewayId), this.gatewayStatus('offline'));
  }

  private queue(job: () => Promise<void>): void {
    this.work = this.work.then(() => (this.stopped ? undefined : job())).catch((err: unknown) => {
      this.opts.log.warn({ err: (err as Error).message }, 'homeassistant: discovery step failed');
    });
  }

  /** Hot path: per event a type check, two map lookups and a string compare; nothing allocated for a known sensor. */
  private appended(events: readonly EdgeEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const id = deviceOf(e);
      if (id === null) continue;
      let d = this.seen.get(id);
      if (d === undefined) {
        this.seen.set(id, (d = { sensors: new Map(), availability: null, configTopics: new Set() }));
        this.markDirty(id);
      }
      if (e.type === 'DeviceStatus') {
        this.statusOf(id, d, e);
        continue;
      }
      const r = e.sensor;
      if (!r) continue;
      let s = d.sensors.get(r.type);
      const numeric = typeof r.value === 'number';
      if (s === undefined) {
        d.sensors.set(r.type, (s = { unit: r.unit, numeric, timestamp: e.timestamp, stateTopic: this.topics.sensorState(id, r.type), value: r.value, pending: false }));
        this.markDirty(id);
      } else {
        // A late reading (reordered, replayed) never overwrites a newer value.
        if (e.timestamp < s.timestamp) continue;
        if (s.unit !== r.unit || s.numeric !== numeric) {
          s.unit = r.unit;
          s.numeric = numeric;
          this.markDirty(id);
        }
        s.timestamp = e.timestamp;
      }
      s.value = r.value;
      if (!s.pending) {
        s.pending = true;
        this.pending.push(s);
      }
      if (d.availability === null) this.setAvailability(id, d, 'online');
    }
    if (this.pending.length > 0 && this.stateTimer === null) {
      // At once after a quiet second; otherwise when the second since the last states is up.
      const wait = Math.max(0, this.lastStates + STATE_INTERVAL_MS - performance.now());
      this.stateTimer = setTimeout(() => this.publishStates(), wait).unref();
    }
  }

  private publishStates(): void {
    this.stateTimer = null;
    this.lastStates = performance.now();
    const list = this.pending;
    this.pending = [];
    for (const s of list) {
      s.pending = false;
      this.sendQuietly(s.stateTopic, statePayload(s.value));
    }
  }

  private statusOf(id: string, d: DeviceSeen, e: EdgeEvent): void {
    const state = typeof e.payload.state === 'string' ? e.payload.state : null;
    this.setAvailability(id, d, availabilityOf({ state }));
    for (const key of METADATA_KEYS) {
      if (e.payload[key] !== undefined) {
        this.markDirty(id);
        break;
      }
    }
  }

  private setAvailability(id: string, d: DeviceSeen, a: Availability): void {
    if (d.availability === a) return;
    d.availability = a;
    this.sendQuietly(this.topics.deviceAvailability(id), a);
  }

  private markDirty(id: string): void {
    if (this.dirty.has(id)) return;
    // One job for whatever is dirty when it runs: a site's devices appearing at once (the
    // first start on a busy broker) cost one read of the projection, not one each.
    if (this.dirty.size === 0) this.queue(() => this.publishDirty());
    this.dirty.add(id);
  }

  private async publishDirty(): Promise<void> {
    const ids = new Set(this.dirty);
    this.dirty.clear();
    const devices = ids.size <= FEW
      ? await Promise.all([...ids].map((id) => this.opts.device(id)))
      : (await this.opts.devices()).filter((d) => ids.has(d.id));
    for (const device of devices) if (device !== null) await this.publishDevice(device, false);
  }

  /** A device's configs that changed (all of them with `all`), and on a full publish its states. */
  private async publishDevice(device: KnownDevice, all: boolean): Promise<void> {
    const d = this.seen.get(device.id) ?? { sensors: new Map(), availability: null, configTopics: new Set<string>() };
    this.seen.set(device.id, d);
    for (const [name, s] of Object.entries(device.sensors)) {
      if (d.sensors.has(name)) continue;
      d.sensors.set(name, { unit: s.unit, numeric: typeof s.value === 'number', timestamp: s.timestamp, stateTopic: this.topics.sensorState(device.id, name), value: s.value, pending: false });
      if (all) await this.send(this.topics.sensorState(device.id, name), statePayload(s.value));
    }
    for (const [topic, payload] of sensorConfigs(this.opts.naming, this.topics, device)) {
      d.configTopics.add(topic);
      await this.sendConfig(topic, payload, all);
    }
    const availability = availabilityOf(device.status);
    if (all || d.availability !== availability) {
      d.availability = availability;
      await this.send(this.topics.deviceAvailability(device.id), availability);
    }
  }

  private async publishAll(): Promise<void> {
    const { naming } = this.opts;
    if (this.opts.ownsGatewayStatus) await this.send(gatewayStatusTopic(naming.gatewayId), this.gatewayStatus('online'));
    await this.sendConfig(this.topics.gatewayConfig(), gatewayConfig(naming), true);
    for (const device of await this.opts.devices()) await this.publishDevice(device, true);
    for (const [key, state] of this.alerts) {
      const [rule, group] = JSON.parse(key) as [string, string];
      await this.sendConfig(this.topics.alertConfig(rule, group), alertConfig(naming, this.topics, rule, group), true);
      await this.send(this.topics.alertState(rule, group), state);
    }
  }

  private alert(a: StoredAlert): void {
    const state = a.state === 'raised' ? 'ON' : 'OFF';
    const key = JSON.stringify([a.rule, a.group]);
    this.alerts.set(key, state);
    this.queueAlert(a.rule, a.group, key);
  }

  private queueAlert(rule: string, group: string, key: string): void {
    this.queue(async () => {
      await this.sendConfig(this.topics.alertConfig(rule, group), alertConfig(this.opts.naming, this.topics, rule, group), false);
      await this.send(this.topics.alertState(rule, group), this.alerts.get(key)!);
    });
  }

  /** Devices retention removed from the projection: an empty retained config removes each entity. */
  private async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const d = this.seen.get(id);
      if (d === undefined) continue;
      this.seen.delete(id);
      // A value still waiting would put back the state just cleared.
      if (this.pending.length) this.pending = this.pending.filter((s) => !s.pending || ![...d.sensors.values()].includes(s));
      for (const topic of d.configTopics) {
        this.configs.delete(topic);
        await this.send(topic, '');
      }
      for (const s of d.sensors.values()) await this.send(s.stateTopic, '');
      await this.send(this.topics.deviceAvailability(id), '');
    }
  }

  private async sendConfig(topic: string, payload: string, always: boolean): Promise<void> {
    if (!always && this.configs.get(topic) === payload) return;
    this.configs.set(topic, payload);
    await this.send(topic, payload);
  }

  private gatewayStatus(state: Availability): string {
    const since = state === 'online' ? this.since : new Date().toISOString();
    return JSON.stringify({ state, gatewayId: this.opts.naming.gatewayId, since });
  }

  /** A publish that fails (the upstream link is down) is logged once per outage: the link's return republishes. */
  private async send(topic: string, payload: string): Promise<void> {
    try {
      await this.opts.publish(topic, payload);
      this.failures = 0;
    } catch (err) {
      if (this.failures++ === 0) this.opts.log.warn({ err: (err as Error).message, topic }, 'homeassistant: could not publish; republishing once the broker is back');
    }
  }

  private sendQuietly(topic: string, payload: string): void {
    void this.send(topic, payload);
  }
}
