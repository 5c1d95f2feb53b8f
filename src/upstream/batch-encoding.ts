// The upstream wire format of SPEC §4: one message per batch,
// `{"version", "gatewayId", "batch", "events": [Event, …]}`, as CBOR or JSON; the format
// and its version are src/batch's, which also reads it back (`edgebus/batch`).
//
// CBOR batches are the stored values joined under an array header, never re-encoded: the
// log already holds each event in its wire encoding, and copying bytes drains a backlog
// several times faster than decoding and encoding it again (PERF-NOTES, upstream). Each
// event gains one field on the way, `correctedTimestamp` (see time/timeline.ts): its map
// head is rewritten one larger and the field appended after the stored bytes.
import { BATCH_CONTENT_TYPES, BATCH_FORMAT_VERSION, type BatchEncoding } from '../batch/format.js';
import { CborWriter } from '../events/cbor-writer.js';
import { encodeValue } from '../events/codec.js';
import type { EdgeEvent } from '../events/types.js';
import type { EventHead } from './event-head.js';

export const CONTENT_TYPES = BATCH_CONTENT_TYPES;
export type BatchFormat = BatchEncoding;

export interface BatchItem {
  /** The event as stored: its CBOR wire encoding. */
  readonly bytes: Uint8Array;
  /** The fields the forwarder reads on every event, without decoding the rest. */
  readonly head: EventHead;
  /** The whole event, decoded on first use (JSON batches, ttl, the DLQ). */
  readonly event: EdgeEvent;
}

/** Bytes a batch adds around its events: keys, the gateway id, the counters, the version. */
export function envelopeBytes(gatewayId: string): number {
  return 57 + Buffer.byteLength(gatewayId);
}

/** `"correctedTimestamp": "2026-11-26T01:02:03.456Z"` in CBOR: a 19-byte key, a 25-byte value. */
const CORRECTED_FIELD_BYTES = 44;
/** The key, encoded once: it is written after every event of every batch. */
const CORRECTED_KEY = encodeValue('correctedTimestamp');

/** An item's share of a batch's size, for `batch.maxBytes`. */
export function itemBytes(item: BatchItem, format: BatchFormat): number {
  // JSON is a little larger than CBOR; the estimate errs on the large side.
  const size = item.bytes.length + CORRECTED_FIELD_BYTES;
  return format === 'cbor' ? size : Math.ceil(size * 1.4) + 1;
}

/** An event's corrected timestamp (ISO), for the batch. */
export type CorrectedTime = (head: EventHead) => string;

export function encodeBatch(format: BatchFormat, gatewayId: string, batch: number, items: readonly BatchItem[], corrected: CorrectedTime): Buffer {
  if (format === 'json') {
    return Buffer.from(JSON.stringify({ version: BATCH_FORMAT_VERSION, gatewayId, batch, events: items.map((i) => ({ ...i.event, correctedTimestamp: corrected(i.head) })) }));
  }
  let size = envelopeBytes(gatewayId);
  for (const i of items) size += i.bytes.length + CORRECTED_FIELD_BYTES;
  const w = new CborWriter(size);
  w.mapHead(4);
  w.text('version');
  w.number(BATCH_FORMAT_VERSION);
  w.text('gatewayId');
  w.text(gatewayId);
  w.text('batch');
  w.number(batch);
  w.text('events');
  w.arrayHead(items.length);
  for (const i of items) {
    const head = i.bytes[0];
    // A stored event is a map of fewer than 24 fields: its head is one byte, 0xa0 + n.
    if (head >= 0xa0 && head < 0xb7) {
      // Copied whole, then its head bumped in place: one field more is still a one-byte
      // head, and a subarray past the head would be one more object per event.
      const at = w.pos;
      w.raw(i.bytes);
      w.buf[at] = head + 1;
      w.raw(CORRECTED_KEY);
      w.text(corrected(i.head));
    } else w.raw(encodeValue({ ...i.event, correctedTimestamp: corrected(i.head) }));
  }
  // The writer is this batch's alone: its bytes are handed over without a copy.
  const bytes = w.since(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
