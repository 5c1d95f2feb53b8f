// The rejected store: payloads that did not parse or validate, kept with their reason
// so nothing a device sent is ever dropped silently.
import { decodeValue, encodeValue } from '../events/codec.js';
import { ulidGenerator } from '../events/ulid.js';

/** Rejected-store ids, from the wall clock (see ulid.ts). */
const ulid = ulidGenerator();
import type { EventStore } from './event-store.js';
import { seqKey } from './keys.js';
import type { WriteBatch } from './write-batch.js';

export type RejectReason =
  | 'empty-payload'
  | 'invalid-utf8'
  | 'malformed-json'
  | 'invalid-payload'
  | 'invalid-value'
  | 'invalid-timestamp'
  | 'invalid-seq'
  | 'invalid-id'
  | 'invalid-status'
  | 'payload-too-large'
  /** A serial frame its device profile could not decode (SPEC §6): the raw bytes are kept. */
  | 'undecodable-frame'
  /** Upstream refused the event for good (SPEC §4): the log's seq is kept with it. */
  | 'upstream-refused'
  /** The payload failed the schema of its type/sensor and version (or named an unknown version). */
  | 'schema-violation';

/** Where a payload failed its schema: enough to find the line in the schema file. */
export interface SchemaFailure {
  /** The schema file, relative to schemasDir. */
  file: string;
  version: string;
  /** JSON pointer into the payload ("" for the payload itself). */
  instancePath: string;
  /** JSON pointer into the version's schema; "" when the version is unknown. */
  schemaPath: string;
  message: string;
}

export interface Rejection {
  reason: RejectReason;
  detail: string;
  schema?: SchemaFailure;
}

export interface RejectedRecord {
  id: string;
  time: string;
  topic: string;
  /** The raw bytes, base64. */
  payload: string;
  reason: RejectReason;
  detail: string;
  clientId: string | null;
  /** For `upstream-refused`: the event's seq in the log. */
  seq?: number;
  /** For `schema-violation`: where the payload failed. */
  schema?: SchemaFailure;
}

export function makeRejected(topic: string, payload: Uint8Array, rejection: Rejection, clientId: string | null, now = Date.now()): RejectedRecord {
  const record: RejectedRecord = {
    id: ulid(now),
    time: new Date(now).toISOString(),
    topic,
    payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
    reason: rejection.reason,
    detail: rejection.detail,
    clientId,
  };
  if (rejection.schema !== undefined) record.schema = rejection.schema;
  return record;
}

export function putRejected(store: EventStore, batch: WriteBatch, record: RejectedRecord): void {
  batch.put(store.rejected.prefix + record.id, encodeValue(record));
}

/** The id of the entry of an event upstream refused for good: one per log seq, so a refusal again replaces it. */
export function upstreamRejectedId(seq: number): string {
  return `upstream-${seqKey(seq)}`;
}

export async function hasRejected(store: EventStore, id: string): Promise<boolean> {
  return (await store.rejected.get(id)) !== undefined;
}

/** Stores the entry in a write of its own, replacing one with the same id. Not synced. */
export async function writeRejected(store: EventStore, record: RejectedRecord): Promise<void> {
  await store.rejected.put(record.id, encodeValue(record));
}

export async function deleteRejected(store: EventStore, id: string): Promise<void> {
  await store.rejected.del(id);
}

export async function listRejected(store: EventStore, opts: { limit?: number; reason?: string } = {}): Promise<RejectedRecord[]> {
  const out: RejectedRecord[] = [];
  for await (const value of store.rejected.values()) {
    const record = decodeValue<RejectedRecord>(value);
    if (opts.reason && record.reason !== opts.reason) continue;
    out.push(record);
    if (opts.limit && out.length >= opts.limit) break;
  }
  return out;
}

/**
 * How many entries the rejected store holds: its keys only, a thousand at a time — the
 * start reads this, and decoding every record (countRejected) cost ~10 µs an entry there.
 */
export async function countRejectedEntries(store: EventStore): Promise<number> {
  let n = 0;
  const it = store.rejected.keys({ keyEncoding: 'view' });
  try {
    for (let keys = await it.nextv(1000); keys.length; keys = await it.nextv(1000)) n += keys.length;
  } finally {
    await it.close();
  }
  return n;
}

export async function countRejected(store: EventStore): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const value of store.rejected.values()) {
    const { reason } = decodeValue<RejectedRecord>(value);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return counts;
}

export async function getRejected(store: EventStore, ids: readonly string[]): Promise<(RejectedRecord | undefined)[]> {
  const values = await store.rejected.getMany([...ids]);
  return values.map((v) => (v === undefined ? undefined : decodeValue<RejectedRecord>(v)));
}

/** Deletes the given entries, or every entry when `ids` is null; returns how many went. */
export async function purgeRejected(store: EventStore, ids: readonly string[] | null): Promise<number> {
  const keys = ids === null ? await store.rejected.keys().all() : (await Promise.all(ids.map(async (id) => ((await store.rejected.get(id)) === undefined ? null : id)))).filter((k): k is string => k !== null);
  for (let i = 0; i < keys.length; i += 1000) {
    await store.rejected.batch(keys.slice(i, i + 1000).map((key) => ({ type: 'del' as const, key })));
  }
  return keys.length;
}
