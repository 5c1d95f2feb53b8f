// The forwarder's durable progress: every event at or below the cursor has been
// acknowledged by the upstream broker (or expired, or dead-lettered), and the batch
// counter goes on from where it stopped. Kept as meta records (store/meta-records.ts), so
// it moves with the data dir on a backup or restore.
import type { EventStore } from '../store/event-store.js';
import { readUpstreamBatchNumber, readUpstreamCursor, writeUpstreamProgress } from '../store/meta-records.js';

/** The last seq upstream has acknowledged; 0 when nothing has been forwarded yet. */
export async function readCursor(store: EventStore): Promise<number> {
  return readUpstreamCursor(store);
}

export async function readBatchNumber(store: EventStore): Promise<number> {
  return readUpstreamBatchNumber(store);
}

/**
 * Not synced: a cursor lost in a power cut only means its batches are sent again
 * (at least once), and skipping the fsync keeps SD-card writes per batch down.
 */
export async function writeProgress(store: EventStore, cursor: number, batchNumber: number): Promise<void> {
  await writeUpstreamProgress(store, { cursor, batchNumber });
}

/** How long a moved cursor waits to be saved: one meta write for many acknowledged batches. */
const SAVE_AFTER_MS = 250;

/** Saves the forwarder's progress at most every SAVE_AFTER_MS, and once more at stop. */
export class ProgressSaver {
  private timer: NodeJS.Timeout | null = null;
  private saved: number;
  private stopped = false;

  constructor(
    private readonly store: EventStore,
    private readonly progress: () => { cursor: number; batchNumber: number },
    private readonly onError: (err: unknown) => void,
    savedCursor: number,
  ) {
    this.saved = savedCursor;
  }

  /** The cursor moved: save it soon. */
  schedule(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save().catch(this.onError);
    }, SAVE_AFTER_MS);
  }

  private async save(): Promise<void> {
    const { cursor, batchNumber } = this.progress();
    if (cursor === this.saved) return;
    await writeProgress(this.store, cursor, batchNumber);
    this.saved = cursor;
  }

  /** No more scheduled saves; what is unsaved is saved now. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.save();
  }
}
