// The forwarder's durable progress: every event at or below the cursor has been
// acknowledged by the upstream broker (or expired, or dead-lettered), and the batch
// counter goes on from where it stopped. Kept in the meta sublevel, so it moves with the
// data dir on a backup or restore.
import type { EventStore } from '../store/event-store.js';

const CURSOR_KEY = 'upstream.cursor';
const BATCH_KEY = 'upstream.batch';

/** The last seq upstream has acknowledged; 0 when nothing has been forwarded yet. */
export async function readCursor(store: EventStore): Promise<number> {
  const v = await store.meta.get(CURSOR_KEY);
  return v === undefined ? 0 : Number(v);
}

export async function readBatchNumber(store: EventStore): Promise<number> {
  const v = await store.meta.get(BATCH_KEY);
  return v === undefined ? 0 : Number(v);
}

/**
 * Not synced: a cursor lost in a power cut only means its batches are sent again
 * (at least once), and skipping the fsync keeps SD-card writes per batch down.
 */
export async function writeProgress(store: EventStore, cursor: number, batchNumber: number): Promise<void> {
  await store.meta.batch([
    { type: 'put', key: CURSOR_KEY, value: String(cursor) },
    { type: 'put', key: BATCH_KEY, value: String(batchNumber) },
  ]);
}
