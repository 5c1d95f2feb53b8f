// A query by event type (`events --type Alert`, `/api/events?type=SystemEvent`) reads the
// whole log; decoding every stored event to compare one field made each such read cost a
// full decode per event (a client polling for one SystemEvent kept the daemon busy). The
// stored bytes of an event of type T always hold the CBOR text "type" followed by the CBOR
// text T: both encoders (cbor-x and events/cbor-writer.ts) write a top-level key and a
// string value as text with the shortest head, as `cborText` does. An event whose bytes lack that
// run cannot be of type T and is skipped undecoded; one that holds it (the run may also sit
// in a payload) is decoded and matched as before, so this only ever skips, never admits.
import { cborText } from '../events/cbor-writer.js';
import type { EventType } from '../events/types.js';

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
