// Bytes to a batch. Decoding checks only that the payload parses to a map; what the map
// holds is verify.ts's job, so a consumer can keep and report a bad batch whole.
import { decodeValue } from '../events/codec.js';
import { BATCH_CONTENT_TYPES, type BatchEncoding } from './format.js';
import type { Batch } from './types.js';

/** The payload is not a batch at all: not CBOR or JSON, or not a map. */
export class BatchDecodeError extends Error {
  override readonly name = 'BatchDecodeError';
}

/**
 * The encoding from the MQTT 5 content type, else from the first byte: a JSON batch opens
 * with `{` (or whitespace; `[` is JSON too, refused later with a clearer word), a CBOR one
 * with a map head (0xa0–0xbf), which is neither.
 */
export function batchEncodingOf(payload: Uint8Array, contentType?: string): BatchEncoding | null {
  if (contentType === BATCH_CONTENT_TYPES.json) return 'json';
  if (contentType === BATCH_CONTENT_TYPES.cbor) return 'cbor';
  const first = payload[0];
  if (first === undefined) return null;
  if (first === 0x7b || first === 0x5b || first === 0x20 || first === 0x0a || first === 0x0d || first === 0x09) return 'json';
  if (first >= 0xa0 && first <= 0xbf) return 'cbor';
  return null;
}

/**
 * Decodes a batch (CBOR or JSON, by `contentType` or by sniffing). Throws BatchDecodeError
 * when the payload is not a map in either encoding. The result is not yet trusted: pass it
 * to `verifyBatch` before reading its fields. A batch without `version` gets version 1.
 */
export function decodeBatch(payload: Uint8Array | string, contentType?: string): Batch {
  let value: unknown;
  if (typeof payload === 'string') value = parseJson(payload);
  else {
    const encoding = batchEncodingOf(payload, contentType);
    if (encoding === null) throw new BatchDecodeError(payload.length === 0 ? 'empty payload' : `neither a CBOR nor a JSON map (first byte 0x${payload[0].toString(16).padStart(2, '0')})`);
    value = encoding === 'json' ? parseJson(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8')) : parseCbor(payload);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new BatchDecodeError(`a batch is a map, got ${describe(value)}`);
  }
  const batch = value as Record<string, unknown>;
  if (!('version' in batch)) batch.version = 1;
  return batch as unknown as Batch;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BatchDecodeError(`not JSON: ${(err as Error).message}`);
  }
}

function parseCbor(bytes: Uint8Array): unknown {
  try {
    return decodeValue<unknown>(bytes);
  } catch (err) {
    throw new BatchDecodeError(`not CBOR: ${(err as Error).message}`);
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value === 'object' ? 'a map' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}
