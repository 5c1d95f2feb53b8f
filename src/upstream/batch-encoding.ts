// The upstream wire format of SPEC §4: one message per batch,
// `{"gatewayId", "batch", "events": [Event, …]}`, as CBOR or JSON.
//
// CBOR batches are the stored values joined under an array header, never re-encoded: the
// log already holds each event in its wire encoding, and copying bytes drains a backlog
// several times faster than decoding and encoding it again (PERF-NOTES, upstream).
import { CborWriter } from '../events/cbor-writer.js';
import type { EdgeEvent } from '../events/types.js';

export const CONTENT_TYPES = { cbor: 'application/cbor', json: 'application/json' } as const;
export type BatchFormat = keyof typeof CONTENT_TYPES;

export interface BatchItem {
  /** The event as stored: its CBOR wire encoding. */
  bytes: Uint8Array;
  event: EdgeEvent;
}

/** Bytes a batch adds around its events: keys, the gateway id, the counters. */
export function envelopeBytes(gatewayId: string): number {
  return 48 + Buffer.byteLength(gatewayId);
}

/** An item's share of a batch's size, for `batch.maxBytes`. */
export function itemBytes(item: BatchItem, format: BatchFormat): number {
  // JSON is a little larger than CBOR; the estimate errs on the large side.
  return format === 'cbor' ? item.bytes.length : Math.ceil(item.bytes.length * 1.4) + 1;
}

export function encodeBatch(format: BatchFormat, gatewayId: string, batch: number, items: readonly BatchItem[]): Buffer {
  if (format === 'json') {
    return Buffer.from(JSON.stringify({ gatewayId, batch, events: items.map((i) => i.event) }));
  }
  let size = envelopeBytes(gatewayId);
  for (const i of items) size += i.bytes.length;
  const w = new CborWriter(size);
  w.mapHead(3);
  w.text('gatewayId');
  w.text(gatewayId);
  w.text('batch');
  w.number(batch);
  w.text('events');
  w.arrayHead(items.length);
  for (const i of items) w.raw(i.bytes);
  return Buffer.from(w.since(0));
}
