// `edgebus/batch`: read the batches a gateway sends upstream (README "Batch format").
//
//   import { readBatch, eachEvent } from 'edgebus/batch';
//   const batch = readBatch(message.payload, packet.properties?.contentType);
//   for (const event of eachEvent(batch)) …
import { decodeBatch } from './decode.js';
import type { Batch, BatchEvent } from './types.js';
import { assertBatch } from './verify.js';

export { BATCH_CONTENT_TYPES, BATCH_FORMAT_VERSION, KNOWN_BATCH_VERSIONS, type BatchEncoding } from './format.js';
export { BatchDecodeError, batchEncodingOf, decodeBatch } from './decode.js';
export { assertBatch, BatchInvalidError, verifyBatch } from './verify.js';
export type * from './types.js';

/** Decodes and verifies: throws BatchDecodeError or BatchInvalidError, else the trusted batch. */
export function readBatch(payload: Uint8Array | string, contentType?: string): Batch {
  const batch = decodeBatch(payload, contentType);
  assertBatch(batch);
  return batch;
}

/**
 * The batch's events in order, each handed out once: the caller keeps only the event it
 * works on, and nothing beyond the decoded batch is built (no copies, no per-event wrappers).
 */
export function* eachEvent(batch: Batch): Generator<BatchEvent, void, undefined> {
  const events = batch.events;
  for (let i = 0; i < events.length; i++) yield events[i];
}
