// Events upstream refused for good go to the rejected store (SPEC §4), one entry per event.
import type { EventStore } from '../store/event-store.js';
import { hasRejected, upstreamRejectedId, writeRejected, type RejectedRecord } from '../store/rejected.js';
import type { BatchItem } from './batch-encoding.js';
import type { PublishOutcome } from './link.js';

export type Refusal = Extract<PublishOutcome, { ok: false }>;

/**
 * Stores the entry; `known` when the event was already there (refused again after a
 * resend: its entry is replaced, not added).
 */
export async function deadLetterRefused(store: EventStore, topic: string, item: BatchItem, refusal: Refusal, now: number): Promise<{ record: RejectedRecord; known: boolean }> {
  const { event } = item;
  const record: RejectedRecord = {
    id: upstreamRejectedId(event.seq),
    time: new Date(now).toISOString(),
    topic,
    payload: Buffer.from(JSON.stringify(event)).toString('base64'),
    reason: 'upstream-refused',
    detail: `upstream refused event ${event.id} (seq ${event.seq}): ${refusal.reason} (reason code 0x${refusal.reasonCode.toString(16)})`,
    clientId: null,
    seq: event.seq,
  };
  const known = await hasRejected(store, record.id);
  // Not synced: LevelDB's log keeps writes in order, so a cursor that survives a power cut
  // has this record before it; if neither survives, the batch is refused again.
  await writeRejected(store, record);
  return { record, known };
}
