// The rejected store: payloads that did not parse or validate, kept with their reason
// so nothing a device sent is ever dropped silently.
import { decodeValue, encodeValue } from '../events/codec.js';
import { ulid } from '../events/ulid.js';
import type { EventStore } from './event-store.js';
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
  | 'payload-too-large';

export interface Rejection {
  reason: RejectReason;
  detail: string;
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
}

export function makeRejected(topic: string, payload: Uint8Array, rejection: Rejection, clientId: string | null, now = Date.now()): RejectedRecord {
  return {
    id: ulid(now),
    time: new Date(now).toISOString(),
    topic,
    payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
    reason: rejection.reason,
    detail: rejection.detail,
    clientId,
  };
}

export function putRejected(store: EventStore, batch: WriteBatch, record: RejectedRecord): void {
  batch.put(store.prefix.rejected + record.id, encodeValue(record));
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

export async function countRejected(store: EventStore): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const value of store.rejected.values()) {
    const { reason } = decodeValue<RejectedRecord>(value);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return counts;
}
