// The few fields of a stored event the drain needs — its seq, timestamp and metadata (ttl,
// receivedAt) — read straight from its CBOR bytes without decoding the rest. A full decode
// (payload, sensor, device, every key a string) was the largest cost of draining a backlog;
// the stored bytes go upstream as they are, so only these fields are ever looked at. The
// full event is still decoded, lazily, by whoever asks for it (JSON batches, ttl, the DLQ).
import { cborText, COMMON_METADATA_BLOCKS } from '../events/cbor-writer.js';
import { decodeEvent, decodeValue } from '../events/codec.js';
import { isoTime, parseIsoTime } from '../events/iso-time.js';
import type { EdgeEvent } from '../events/types.js';

/** What the drain reads of every event: enough for its ttl and its corrected timestamp. */
export interface EventHead {
  seq: number;
  timestamp: string;
  /** metadata.ttl: seconds after its time past which it is not forwarded. */
  ttl: number | null;
  /** metadata.receivedAt: set when the publisher's own time is the timestamp. */
  receivedAt: string | undefined;
}

const utf8 = new TextDecoder();

/** Where the CBOR item at `at` ends; -1 for what this reader does not handle (indefinite lengths). */
function skip(b: Uint8Array, at: number): number {
  const major = b[at] >> 5;
  const info = b[at] & 0x1f;
  let p = at + 1;
  let n: number;
  if (info < 24) n = info;
  else if (info === 24) n = b[p++];
  else if (info === 25) { n = (b[p] << 8) | b[p + 1]; p += 2; }
  else if (info === 26) { n = ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]); p += 4; }
  else if (info === 27) { n = 0; p += 8; if (major !== 0 && major !== 1 && major !== 7) return -1; }
  else return -1;
  switch (major) {
    case 0: case 1: case 7: return p; // integers, simple values and floats: the head is all
    case 2: case 3: return p + n;
    case 4: for (let i = 0; i < n && p >= 0; i++) p = skip(b, p); return p;
    case 5: for (let i = 0; i < 2 * n && p >= 0; i++) p = skip(b, p); return p;
    default: return skip(b, p); // a tag: its item follows
  }
}

/** The keys looked for, as CBOR text strings. */
const SEQ = cborText('seq');
const TIMESTAMP = cborText('timestamp');
const METADATA = cborText('metadata');
const TTL = cborText('ttl');
const RECEIVED_AT = cborText('receivedAt');

/** Whether the item at `at` is exactly `key` (compared as bytes: no string is made). */
function isKey(b: Uint8Array, at: number, key: Uint8Array): boolean {
  if (at + key.length > b.length) return false;
  for (let i = 0; i < key.length; i++) if (b[at + i] !== key[i]) return false;
  return true;
}

/** The text string from `at` to `end`; ASCII (a timestamp) without the UTF-8 decoder. */
function readText(b: Uint8Array, at: number, end: number): string | undefined {
  if (b[at] >> 5 !== 3) return undefined;
  const info = b[at] & 0x1f;
  const start = at + 1 + (info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : 4);
  for (let i = start; i < end; i++) if (b[i] >= 0x80) return utf8.decode(b.subarray(start, end));
  // ASCII: latin1 is the same bytes, and Buffer slices it natively.
  return Buffer.isBuffer(b) ? b.toString('latin1', start, end) : String.fromCharCode(...b.subarray(start, end));
}

/** An integer from its head alone (below 2^32), else the full decode; undefined when not a number. */
function readNumber(b: Uint8Array, at: number, end: number): number | undefined {
  const head = b[at];
  if (head < 24) return head;
  if (head === 24) return b[at + 1];
  if (head === 25) return (b[at + 1] << 8) | b[at + 2];
  if (head === 26) return ((b[at + 1] << 24) >>> 0) + ((b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]);
  const v: unknown = decodeValue(b.subarray(at, end));
  return typeof v === 'number' ? v : undefined;
}

/** A definite-length map at `at`: its entry count and where its first key starts; null otherwise. */
function mapAt(b: Uint8Array, at: number): { n: number; first: number } | null {
  if (b[at] >> 5 !== 5) return null;
  const info = b[at] & 0x1f;
  if (info < 24) return { n: info, first: at + 1 };
  if (info === 24) return { n: b[at + 1], first: at + 2 };
  // cbor-x writes an object's map head with a 16-bit count.
  if (info === 25) return { n: (b[at + 1] << 8) | b[at + 2], first: at + 3 };
  return null;
}

/** Whether `b` ends with `tail`. */
function endsWith(b: Uint8Array, tail: Uint8Array): boolean {
  const off = b.length - tail.length;
  if (off < 0) return false;
  for (let i = tail.length - 1; i >= 0; i--) if (b[off + i] !== tail[i]) return false;
  return true;
}

/**
 * Whether the store's writer wrote `b` (a one-byte map head: cbor-x writes 16-bit ones) with
 * the metadata most events carry: then its ttl is null and it has no receivedAt, and the
 * fields the head needs are its first five. The writer puts metadata last, and a block
 * holds null (0xf6), a byte no UTF-8 text can hold, so no other metadata ends the same way.
 * Skipping payload, sensor and device to reach metadata was most of the head's cost.
 */
function hasCommonMetadata(b: Uint8Array): boolean {
  if (b[0] >= 0xb8) return false;
  for (const block of COMMON_METADATA_BLOCKS) if (endsWith(b, block)) return true;
  return false;
}

/** The head of a stored event; null when its bytes are not a plain map this reader handles. */
export function peekHead(b: Uint8Array): EventHead | null {
  const top = mapAt(b, 0);
  if (top === null) return null;
  const common = hasCommonMetadata(b);
  let p = top.first;
  let seq: number | undefined;
  let timestamp: string | undefined;
  let ttl: number | null = null;
  let receivedAt: string | undefined;
  for (let i = 0; i < top.n; i++) {
    if (common && seq !== undefined && timestamp !== undefined) break;
    const valueAt = skip(b, p);
    if (valueAt < 0 || b[p] >> 5 !== 3) return null;
    const end = skip(b, valueAt);
    if (end < 0 || end > b.length) return null;
    if (isKey(b, p, SEQ)) {
      seq = readNumber(b, valueAt, end);
    } else if (isKey(b, p, TIMESTAMP)) {
      timestamp = readText(b, valueAt, end);
    } else if (isKey(b, p, METADATA)) {
      const meta = mapAt(b, valueAt);
      if (meta === null) return null;
      let q = meta.first;
      for (let j = 0; j < meta.n; j++) {
        const v = skip(b, q);
        const e = v < 0 ? -1 : skip(b, v);
        if (e < 0 || e > end) return null;
        // null (0xf6) and undefined (0xf7) leave the ttl unset.
        if (isKey(b, q, TTL) && b[v] !== 0xf6 && b[v] !== 0xf7) {
          const t = readNumber(b, v, e);
          if (t === undefined) return null;
          ttl = t;
        } else if (isKey(b, q, RECEIVED_AT) && b[v] >> 5 === 3) receivedAt = readText(b, v, e);
        q = e;
      }
    }
    p = end;
  }
  if (seq === undefined || timestamp === undefined) return null;
  return { seq, timestamp, ttl, receivedAt };
}

/**
 * The same as Timeline.correctedTimestamp, from the head alone: a timestamp the gateway
 * stamped moves with the clock steps after it; a publisher's own (receivedAt set) stays.
 * test/upstream/event-head.unit.test.ts holds the two to the same answers.
 */
export function correctedTimestamp(correction: (seq: number) => number, h: EventHead): string {
  if (h.receivedAt !== undefined) return h.timestamp;
  const c = correction(h.seq);
  if (c === 0) return h.timestamp;
  const t = parseIsoTime(h.timestamp) + c;
  return Number.isFinite(t) ? isoTime(t) : h.timestamp;
}

/** A stored event on its way upstream: its bytes, its head, and the full event on demand. */
export class StoredItem {
  private decoded: EdgeEvent | undefined;

  constructor(readonly bytes: Uint8Array, readonly head: EventHead) {}

  static of(bytes: Uint8Array): StoredItem {
    const head = peekHead(bytes);
    if (head !== null) return new StoredItem(bytes, head);
    return StoredItem.withEvent(bytes, decodeEvent(bytes));
  }

  /** An item whose event is decoded already. */
  static withEvent(bytes: Uint8Array, event: EdgeEvent): StoredItem {
    const item = new StoredItem(bytes, { seq: event.seq, timestamp: event.timestamp, ttl: event.metadata?.ttl ?? null, receivedAt: event.metadata?.receivedAt });
    item.decoded = event;
    return item;
  }

  get event(): EdgeEvent {
    return (this.decoded ??= decodeEvent(this.bytes));
  }
}
