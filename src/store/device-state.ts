// The device-state projection: per device, the last of each sensor, its last status,
// location and self-description, folded from DeviceData and DeviceStatus events. The
// appender's LogWriter keeps it in memory and puts each device its commit group changed
// once, in that group's batch: the projection on disk is always the fold of the durable log.
// `rebuildDeviceStates` folds the log again (the same fold, in the same order).
import type { EdgeEvent, JsonObject, JsonValue, Location } from '../events/types.js';
import type { EventStore } from './event-store.js';
import { readEvents } from './log-reader.js';

export interface SensorState {
  value: JsonValue;
  unit: string | null;
  timestamp: string;
  seq: number;
}

export interface StatusState {
  /** `online`, `offline`, or a JSON status's `state` (null when it has none). */
  state: string | null;
  /** The status as published: `{state}` for a bare one, the JSON object otherwise. */
  payload: JsonObject;
  timestamp: string;
  seq: number;
}

export type LocationState = Location & { timestamp: string; seq: number };

/** What a device said about itself in a JSON status. */
export const METADATA_KEYS = ['type', 'model', 'manufacturer', 'firmware', 'hardware', 'capabilities'] as const;

export interface DeviceState {
  id: string;
  /** When the gateway last received an event of the device (its wall clock, ISO). */
  lastSeen: string;
  /** The log seq of the device's last event: retention drops the device once the log no longer holds it. */
  lastSeq: number;
  status: StatusState | null;
  location: LocationState | null;
  /** The METADATA_KEYS its JSON statuses carried, the newest of each. */
  metadata: { [key: string]: JsonValue };
  /** When each of them was reported, so a late status does not overwrite a newer one. */
  metadataAt: { [key: string]: string };
  sensors: { [sensor: string]: SensorState };
}

/** Later wins: by the event's time, then by log seq (a reordered, late reading never overwrites a newer one). */
function newer(timestamp: string, seq: number, than: { timestamp: string; seq: number } | null): boolean {
  // isoTime's fixed form: string order is time order.
  return than === null || timestamp > than.timestamp || (timestamp === than.timestamp && seq > than.seq);
}

/** The device an event is about, or null when it is not a device's reading or status. */
export function deviceOf(e: EdgeEvent): string | null {
  if (e.type !== 'DeviceData' && e.type !== 'DeviceStatus') return null;
  return e.device?.id ?? e.source;
}

/**
 * A device in memory, and the pieces of its JSON as last written: a group re-encodes only
 * what changed since (JSON.stringify of a whole device cost ~4 µs, once per event when
 * every event of a group is another device's).
 */
interface Held {
  /** Its `sensors` is stale: `sensors` below is the truth. */
  state: DeviceState;
  /** The sensors as a Map: a sensor named `__proto__` must stay a sensor. */
  sensors: Map<string, SensorState>;
  idJson: string;
  /** Each sensor's JSON member (`"name":{…}`). */
  sensorJson: Map<string, string>;
  /** Each sensor's `"name":{"value":`, which never changes. */
  sensorHead: Map<string, string>;
  /** status, location, metadata and metadataAt as JSON members. */
  restJson: string;
  /** The seq of the last event that changed status, location or metadata. */
  restSeq: number;
  /** `lastSeq` when last encoded (-1: never): what changed after it is encoded again. */
  encodedSeq: number;
}

/** The projection in memory: folds events, remembers which devices changed since the last write. */
export class DeviceStates {
  private readonly devices = new Map<string, Held>();
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();

  get size(): number {
    return this.devices.size;
  }

  /** Replaces what is held with the store's projection (at init, and after a failed write). */
  async load(store: EventStore): Promise<void> {
    this.devices.clear();
    this.changed.clear();
    this.removed.clear();
    for await (const value of store.devices.values()) {
      const state = JSON.parse(value) as DeviceState;
      this.devices.set(state.id, heldOf(state));
    }
  }

  /** Folds one event in log order; most events change one sensor's entry in place. */
  apply(e: EdgeEvent): void {
    const id = deviceOf(e);
    if (id === null) return;
    let held = this.devices.get(id);
    const receivedAt = e.metadata.receivedAt ?? e.timestamp;
    if (held === undefined) {
      held = heldOf({ id, lastSeen: receivedAt, lastSeq: e.seq, status: null, location: null, metadata: {}, metadataAt: {}, sensors: {} });
      this.devices.set(id, held);
    }
    const s = held.state;
    s.lastSeen = receivedAt;
    s.lastSeq = e.seq;
    this.changed.add(id);
    if (this.removed.size) this.removed.delete(id);
    if (e.location && newer(e.timestamp, e.seq, s.location)) {
      s.location = { lat: e.location.lat, lon: e.location.lon, alt: e.location.alt ?? null, timestamp: e.timestamp, seq: e.seq };
      held.restSeq = e.seq;
    }
    if (e.type === 'DeviceData') {
      if (e.sensor) this.reading(held, e);
    } else {
      this.status(held, e);
    }
  }

  private reading(held: Held, e: EdgeEvent): void {
    const r = e.sensor!;
    const cur = held.sensors.get(r.type);
    if (cur === undefined) {
      held.sensors.set(r.type, { value: r.value, unit: r.unit, timestamp: e.timestamp, seq: e.seq });
    } else if (newer(e.timestamp, e.seq, cur)) {
      cur.value = r.value;
      cur.unit = r.unit;
      cur.timestamp = e.timestamp;
      cur.seq = e.seq;
    }
  }

  private status(held: Held, e: EdgeEvent): void {
    const s = held.state;
    if (newer(e.timestamp, e.seq, s.status)) {
      const state = typeof e.payload.state === 'string' ? e.payload.state : null;
      s.status = { state, payload: e.payload, timestamp: e.timestamp, seq: e.seq };
      held.restSeq = e.seq;
    }
    for (const key of METADATA_KEYS) {
      const v = e.payload[key];
      if (v === undefined) continue;
      const at = s.metadataAt[key];
      if (at !== undefined && at > e.timestamp) continue;
      s.metadata[key] = v;
      s.metadataAt[key] = e.timestamp;
      held.restSeq = e.seq;
    }
  }

  /**
   * Forgets the devices whose last event is below `firstSeq` (the log's first held seq:
   * retention or eviction took all of them). Returns their ids.
   */
  forgetBefore(firstSeq: number): string[] {
    const gone: string[] = [];
    for (const [id, held] of this.devices) {
      if (held.state.lastSeq >= firstSeq) continue;
      this.devices.delete(id);
      this.changed.delete(id);
      this.removed.add(id);
      gone.push(id);
    }
    return gone;
  }

  /** Puts each device changed since the last call (and deletes each forgotten one) under `prefix`. */
  writeChanged(put: (key: string, value: string) => void, del: (key: string) => void, prefix: string): void {
    for (const id of this.changed) put(prefix + id, encode(this.devices.get(id)!));
    for (const id of this.removed) del(prefix + id);
    this.changed.clear();
    this.removed.clear();
  }

  /** Every device, for a write of the whole projection (rebuild, migration). */
  *encoded(): Generator<[string, string]> {
    for (const [id, held] of this.devices) yield [id, encode(held)];
  }
}

function heldOf(state: DeviceState): Held {
  return {
    state, sensors: new Map(Object.entries(state.sensors)),
    idJson: JSON.stringify(state.id), sensorJson: new Map(), sensorHead: new Map(), restJson: '', restSeq: 0, encodedSeq: -1,
  };
}

/** The device's JSON, members in DeviceState's order (JSON.parse reads it back as one). */
function encode(held: Held): string {
  const s = held.state;
  const since = held.encodedSeq;
  if (held.restSeq > since) {
    held.restJson = `"status":${JSON.stringify(s.status)},"location":${JSON.stringify(s.location)},"metadata":${JSON.stringify(s.metadata)},"metadataAt":${JSON.stringify(s.metadataAt)}`;
  }
  let sensors = '';
  for (const [name, r] of held.sensors) {
    let member = held.sensorJson.get(name);
    if (member === undefined || r.seq > since) {
      let head = held.sensorHead.get(name);
      if (head === undefined) held.sensorHead.set(name, (head = `${JSON.stringify(name)}:{"value":`));
      const value = typeof r.value === 'number' ? String(r.value) : JSON.stringify(r.value);
      member = `${head}${value},"unit":${r.unit === null ? 'null' : JSON.stringify(r.unit)},"timestamp":${JSON.stringify(r.timestamp)},"seq":${r.seq}}`;
      held.sensorJson.set(name, member);
    }
    sensors = sensors === '' ? member : sensors + ',' + member;
  }
  held.encodedSeq = s.lastSeq;
  return `{"id":${held.idJson},"lastSeen":${JSON.stringify(s.lastSeen)},"lastSeq":${s.lastSeq},${held.restJson},"sensors":{${sensors}}}`;
}

/** The projection as the store holds it, in id order. */
export async function readDeviceStates(store: EventStore): Promise<DeviceState[]> {
  const out: DeviceState[] = [];
  for await (const value of store.devices.values()) out.push(JSON.parse(value) as DeviceState);
  return out;
}

/** One device's state, or null when the projection does not know it. */
export async function readDeviceState(store: EventStore, id: string): Promise<DeviceState | null> {
  const value = await store.devices.get(id);
  return value === undefined ? null : (JSON.parse(value) as DeviceState);
}

/** Folds the whole log in one pass: memory grows with devices × sensors, not with events. */
export async function foldLog(store: EventStore): Promise<DeviceStates> {
  const states = new DeviceStates();
  for await (const e of readEvents(store)) states.apply(e);
  return states;
}

/** Where the whole projection is written: a chained batch (migration) or the raw one. */
export interface ProjectionBatch {
  put(key: string, value: string): void;
  del(key: string): void;
}

/** Replaces the stored projection with `states` in `batch` (deletes first: a device no longer in the log goes). */
export async function replaceDeviceStates(store: EventStore, states: DeviceStates, batch: ProjectionBatch): Promise<void> {
  const prefix = store.devices.prefix;
  for await (const id of store.devices.keys()) batch.del(prefix + id);
  for (const [id, value] of states.encoded()) batch.put(prefix + id, value);
}

/**
 * Rebuilds the projection from the log, with the store not open elsewhere (the daemon
 * stopped): one pass, one atomic write. Returns the number of devices.
 */
export async function rebuildDeviceStates(store: EventStore): Promise<number> {
  const states = await foldLog(store);
  const batch = store.newWriteBatch();
  await replaceDeviceStates(store, states, batch);
  await batch.write(true);
  return states.size;
}
