// The event model of SPEC §3. Every event in the store, on the CLI, upstream and on
// local alert topics has this shape.

export const EVENT_TYPES = ['DeviceData', 'DeviceStatus', 'Alert', 'Command', 'SystemEvent', 'BusinessEvent'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;

/** How far the gateway's wall clock could be trusted (`metadata.clock`; see time/quality.ts). */
export const CLOCK_QUALITIES = ['synced', 'unsynced', 'stepped'] as const;
export type ClockQuality = (typeof CLOCK_QUALITIES)[number];
export type Priority = (typeof PRIORITIES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface SensorReading {
  type: string;
  value: JsonValue;
  unit: string | null;
  accuracy: number | null;
  timestamp: string;
}

export interface DeviceRef {
  id: string;
  [key: string]: JsonValue;
}

export interface Location {
  lat: number;
  lon: number;
  alt?: number | null;
}

export type NetworkInfo = { [key: string]: string | number | boolean | null };

export interface EventMetadata {
  correlationId: string | null;
  causationId: string | null;
  version: string;
  priority: Priority;
  /** Seconds after `timestamp` past which the event is not forwarded. */
  ttl: number | null;
  /** How far the gateway's wall clock could be trusted when the event was received (set at append; absent on events stored before clocks were recorded). */
  clock?: ClockQuality;
  /** When the gateway received it, on its wall clock: only when the publisher's own time (`timestamp`) differs from that by more than a second. */
  receivedAt?: string;
}

export interface EdgeEvent {
  id: string;
  type: EventType;
  source: string;
  timestamp: string;
  seq: number;
  /**
   * The event's place in its source's stream: 1 for the source's first event (not
   * `metadata.version`, the payload's schema version). Written at append. Optional in the
   * type because events stored by a release before streams lack it: the store's readers
   * fill it (see store/stream-versions.ts), the forwarder sends such events as stored.
   */
  version?: number;
  payload: JsonObject;
  sensor?: SensorReading;
  device?: DeviceRef;
  location?: Location;
  network?: NetworkInfo;
  metadata: EventMetadata;
}

/**
 * An event before append: no log `seq` yet, and possibly no id (a device `seq` gets
 * its id from the epoch, which is only known when the event is sequenced).
 */
/** Where a Command goes on the local broker (a device on `cmd/<device>` reads it there). */
export interface LocalDelivery {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
}

export interface EventDraft extends Omit<EdgeEvent, 'seq' | 'id' | 'version'> {
  id: string | null;
  /** The publisher's own counter, used for ordering and duplicate detection. */
  deviceSeq: number | null;
  /** True when `id` came from the publisher: it must be checked against the id index. */
  explicitId: boolean;
  /**
   * The id is made from what caused the event (a rule's emission): it is a duplicate for as
   * long as the event it names is in the log, not only within the dedup window, so a replay
   * or rebuild of old events never stores their alerts twice.
   */
  idForLife?: boolean;
  /** Receive time on the gateway clock (see time/clock.ts), ms. */
  receivedAt: number;
  /**
   * The publisher's own time (epoch ms) when it gave one; absent or null: the timestamp is
   * the gateway's, and the appender writes it from `receivedAt` on the wall clock.
   */
  publisherTime?: number | null;
  /**
   * A Command's publish on the local broker: kept in the store's outbox in the event's own
   * commit, and taken out once published, so a crash in between delivers it after the restart.
   */
  delivery?: LocalDelivery;
}

export const EVENT_VERSION = '1';

export function defaultMetadata(priority: Priority = 'normal'): EventMetadata {
  return { correlationId: null, causationId: null, version: EVENT_VERSION, priority, ttl: null };
}

/** The event of a draft that has been appended: the contract's fields only. */
export function eventOf(d: EventDraft & { seq: number; id: string; version: number }): EdgeEvent {
  // The stored field order (see CborWriter.event), so JSON and CBOR read alike.
  const e = { id: d.id, type: d.type, source: d.source, timestamp: d.timestamp, seq: d.seq, version: d.version, payload: d.payload } as EdgeEvent;
  if (d.sensor !== undefined) e.sensor = d.sensor;
  if (d.device !== undefined) e.device = d.device;
  if (d.location !== undefined) e.location = d.location;
  if (d.network !== undefined) e.network = d.network;
  e.metadata = d.metadata;
  return e;
}

export function isPriority(v: unknown): v is Priority {
  return typeof v === 'string' && (PRIORITIES as readonly string[]).includes(v);
}

export function isEventType(v: unknown): v is EventType {
  return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}
