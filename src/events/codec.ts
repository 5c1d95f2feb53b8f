// Events are stored as standalone CBOR maps (no cbor-x record extensions), so the stored
// bytes are already the upstream wire encoding of each event.
import { Encoder } from 'cbor-x';
import type { EdgeEvent } from './types.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export function encodeValue(value: unknown): Uint8Array {
  return cbor.encode(value);
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return cbor.decode(bytes) as T;
}

export const encodeEvent = (event: EdgeEvent): Uint8Array => encodeValue(event);
export const decodeEvent = (bytes: Uint8Array): EdgeEvent => decodeValue<EdgeEvent>(bytes);
