// The event model of SPEC §3. Every event in the store, on the CLI, upstream and on
// local alert topics has this shape.

export const EVENT_TYPES = ['DeviceData', 'DeviceStatus', 'Alert', 'Command', 'SystemEvent', 'BusinessEvent'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
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
}

export interface EdgeEvent {
  id: string;
  type: EventType;
  source: string;
  timestamp: string;
  seq: number;
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
export interface EventDraft extends Omit<EdgeEvent, 'seq' | 'id'> {
  id: string | null;
  /** The publisher's own counter, used for ordering and duplicate detection. */
  deviceSeq: number | null;
  /** True when `id` came from the publisher: it must be checked against the id index. */
  explicitId: boolean;
  /** Gateway receive time (epoch ms). */
  receivedAt: number;
}

export const EVENT_VERSION = '1';

export function defaultMetadata(priority: Priority = 'normal'): EventMetadata {
  return { correlationId: null, causationId: null, version: EVENT_VERSION, priority, ttl: null };
}

export function isPriority(v: unknown): v is Priority {
  return typeof v === 'string' && (PRIORITIES as readonly string[]).includes(v);
}

export function isEventType(v: unknown): v is EventType {
  return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}
