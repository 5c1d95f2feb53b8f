// The devices of one Sparkplug session: which are born with which metrics, readings gathered
// into DDATA, and the DBIRTH and DDEATH that keep the host's picture of each device true.
// It decides what to send; the edge node (edge-node.ts) numbers and publishes it.
import type { EdgeEvent } from '../../events/types.js';
import { deviceOf, readDeviceState, type DeviceState } from '../../store/device-state.js';
import type { EventStore } from '../../store/event-store.js';
import type { Logger } from '../../util/log.js';
import { datatypeOf, metricOf, type KnownMetric } from './metrics.js';
import { DataType, type Metric } from './payload.js';
import { isSparkplugId, type SparkplugTopics } from './topics.js';

/** Readings of one device in a row share a DDATA up to this many metrics. */
const MAX_DDATA_METRICS = 64;

/** A DDATA being gathered from readings of one device in a row. */
interface PendingData {
  device: string;
  metrics: Metric[];
  /** The timestamp of its last live (not historical) metric. */
  liveUntil: number;
}

export interface SparkplugDevicesOptions {
  topics: SparkplugTopics;
  store: EventStore;
  log: Logger;
  /** An event's time (ms) on the gateway clock. */
  timeOf: (e: EdgeEvent) => number;
  /** Publishes one device message with the session's next seq; false when the link is down. */
  publish: (topic: string, metrics: Metric[]) => boolean;
}

export class SparkplugDevices {
  /** Devices born in this session, with the metrics their DBIRTH declared. */
  private readonly born = new Map<string, Map<string, KnownMetric>>();
  private readonly badIds = new Set<string>();
  private pending: PendingData | null = null;

  constructor(private readonly opts: SparkplugDevicesOptions) {}

  /** A new session (or a rebirth): no device is born, nothing is gathered. */
  reset(): void {
    this.born.clear();
    this.pending = null;
  }

  /** A DBIRTH per device of the projection, and DDEATH for those offline; false when the link went down. */
  birthAll(states: readonly DeviceState[]): boolean {
    for (const state of states) {
      if (!this.usable(state.id)) continue;
      if (!this.deviceBirth(state.id, state)) return false;
      if (state.status?.state === 'offline' && !this.deviceDeath(state.id)) return false;
    }
    return true;
  }

  /** Sends one event's part; true when it published anything. */
  async send(e: EdgeEvent, historical: boolean): Promise<boolean> {
    if (e.type !== 'DeviceData' && e.type !== 'DeviceStatus') return false;
    const id = deviceOf(e)!;
    if (!this.usable(id)) return false;
    if (e.type === 'DeviceStatus') {
      if (e.payload.state === 'offline') {
        if (!this.born.has(id)) return false;
        this.flush();
        return this.deviceDeath(id);
      }
      if (this.born.has(id)) return false;
      this.flush();
      return this.deviceBirth(id, await readDeviceState(this.opts.store, id), e);
    }
    const r = e.sensor;
    if (!r) return false;
    const time = this.opts.timeOf(e);
    const datatype = datatypeOf(r.value);
    let known = this.born.get(id);
    const m = known?.get(r.type);
    // A device the host has not been told of is born first. A DBIRTH declares every metric
    // the device will send until its death (3.0 tck-id-operational-behavior-data-publish-dbirth),
    // so a new sensor, or one whose type changed, takes a DDEATH and a new DBIRTH.
    if (!known || !m || (datatype !== null && datatype !== m.datatype)) {
      this.flush();
      if (known && !this.deviceDeath(id)) return false;
      if (!this.deviceBirth(id, await readDeviceState(this.opts.store, id), e)) return false;
      known = this.born.get(id)!;
    }
    const declared = known.get(r.type)!;
    if (!historical) {
      declared.value = r.value;
      declared.unit = r.unit;
      declared.timestamp = time;
    }
    const metric = metricOf(r.type, { datatype: declared.datatype, value: r.value, unit: r.unit, timestamp: time }, historical, false);
    if (this.pending !== null && !this.fits(this.pending, id, metric)) this.flush();
    this.pending ??= { device: id, metrics: [], liveUntil: -Infinity };
    this.pending.metrics.push(metric);
    if (!historical) this.pending.liveUntil = time;
    return true;
  }

  /**
   * Whether a metric may join the DDATA being gathered: same device, room left, live values
   * in time order (tck-id-operational-behavior-data-publish-dbirth-order), and no second
   * value of a metric at the same timestamp.
   */
  private fits(p: PendingData, device: string, m: Metric): boolean {
    if (p.device !== device || p.metrics.length >= MAX_DDATA_METRICS) return false;
    if (!m.isHistorical && m.timestamp < p.liveUntil) return false;
    for (const other of p.metrics) if (other.name === m.name && other.timestamp === m.timestamp) return false;
    return true;
  }

  /** The DDATA being gathered, out. */
  flush(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    this.opts.publish(this.opts.topics.device('DDATA', p.device), p.metrics);
  }

  /**
   * DBIRTH from the projection: every sensor with its current value; `e`'s sensor is added
   * when the projection does not have it (yet) in the type `e` carries.
   */
  private deviceBirth(id: string, state: DeviceState | null, e?: EdgeEvent): boolean {
    const known = new Map<string, KnownMetric>();
    for (const [name, s] of Object.entries(state?.sensors ?? {})) {
      known.set(name, { datatype: datatypeOf(s.value) ?? DataType.Double, value: s.value, unit: s.unit, timestamp: Date.parse(s.timestamp) });
    }
    const r = e?.sensor;
    if (e && r) {
      const datatype = datatypeOf(r.value);
      const m = known.get(r.type);
      if (!m || (datatype !== null && datatype !== m.datatype)) {
        known.set(r.type, { datatype: datatype ?? DataType.Double, value: r.value, unit: r.unit, timestamp: this.opts.timeOf(e) });
      }
    }
    const metrics: Metric[] = [];
    for (const [name, m] of known) metrics.push(metricOf(name, m, false, true));
    // Current values in time order (tck-id-operational-behavior-data-publish-dbirth-order).
    metrics.sort((a, b) => a.timestamp - b.timestamp);
    this.born.set(id, known);
    return this.opts.publish(this.opts.topics.device('DBIRTH', id), metrics);
  }

  private deviceDeath(id: string): boolean {
    this.born.delete(id);
    return this.opts.publish(this.opts.topics.device('DDEATH', id), []);
  }

  /** Sparkplug ids are one topic level: a device named otherwise stays local, said once. */
  private usable(id: string): boolean {
    if (isSparkplugId(id)) return true;
    if (!this.badIds.has(id)) {
      this.badIds.add(id);
      this.opts.log.warn({ device: id }, 'sparkplug: a device id with /, + or # cannot be a Sparkplug device id; its events are not sent');
    }
    return false;
  }
}
