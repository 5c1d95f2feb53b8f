// A query by event type (`events --type Alert`, `/api/events?type=SystemEvent`) reads the
// whole log; decoding every stored event to compare one field made each such read cost a
// full decode per event (a client polling for one SystemEvent kept the daemon busy). The
// stored bytes of an event of type T always hold the CBOR text "type" followed by the CBOR
// text T: both encoders (cbor-x and events/cbor-writer.ts) write a top-level key as a text
// string and its short string value with a one-byte head. An event whose bytes lack that
// run cannot be of type T and is skipped undecoded; one that holds it (the run may also sit
// in a payload) is decoded and matched as before, so this only ever skips, never admits.
import type { EventType } from '../events/types.js';

function cborText(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  // Event types are short ASCII names: a one-byte head, as both encoders write it.
  if (bytes.length >= 24) throw new Error(`event type too long for a one-byte CBOR head: ${s}`);
  return Buffer.concat([Buffer.from([0x60 + bytes.length]), bytes]);
}

const needles = new Map<string, Buffer>();

/** The byte run every stored event of type `type` contains. */
export function typeNeedle(type: EventType): Buffer {
  let n = needles.get(type);
  if (n === undefined) needles.set(type, (n = Buffer.concat([cborText('type'), cborText(type)])));
  return n;
}

/** False only when `bytes` cannot be an event of the needle's type. */
export function mayBeOfType(bytes: Uint8Array, needle: Buffer): boolean {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b.indexOf(needle) >= 0;
}
