// Events are stored as standalone CBOR maps (no cbor-x record extensions), so the stored
// bytes are already the upstream wire encoding of each event.
import { Encoder, type Options } from 'cbor-x';
import type { EdgeEvent } from './types.js';

// int64AsNumber (read by cbor-x, missing from its typings): JSON integers past 2^32 are
// written as 64-bit CBOR integers and must come back as numbers, not BigInts.
export const CODEC_OPTIONS: Readonly<Options & { int64AsNumber: boolean }> = { useRecords: false, mapsAsObjects: true, tagUint8Array: false, int64AsNumber: true };
const cbor = new Encoder({ ...CODEC_OPTIONS });

export function encodeValue(value: unknown): Uint8Array {
  return cbor.encode(value);
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return cbor.decode(bytes) as T;
}

export const decodeEvent = (bytes: Uint8Array): EdgeEvent => decodeValue<EdgeEvent>(bytes);
