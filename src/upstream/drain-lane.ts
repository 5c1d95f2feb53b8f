// The drain: the backlog read in seq order, one contiguous range per batch, each batch
// covering the seqs it stepped over (expired, sent ahead, too large) so that acknowledging
// the batches in order moves the cursor over all of them. A partial batch waits up to
// `linger` for company. One reader keeps a chunk of the log fetched ahead of the batch being
// packed, so the drain does not wait on LevelDB between batches.
import type { EventStore } from '../store/event-store.js';
import { scanRange } from '../store/log-range.js';
import { LogReadAhead } from '../store/log-read-ahead.js';
import { timerDelay } from '../util/timer-delay.js';
import type { BatchPacker, Packed } from './batch-packing.js';
import { StoredItem } from './event-head.js';
import { newBatch, type ForwardBatch } from './forward-batch.js';

/** Stored values as the drain packs them: each with its head read, which tells its seq. */
const ITEMS = { item: (bytes: Uint8Array): StoredItem => StoredItem.of(bytes), seqOf: (i: StoredItem): number => i.head.seq };

export interface DrainLaneOptions {
  store: EventStore;
  maxEvents: number;
  linger: number;
  packer: () => BatchPacker;
  /** Seqs the overtake lane has sent or is sending. */
  skips: (seq: number) => boolean;
  settleTooLarge: (packer: BatchPacker, gen: number) => Promise<void>;
  /** The gateway clock. */
  now: () => number;
  /** The linger ended: look again. */
  wake: () => void;
}

export class DrainLane {
  /** The first seq no drain batch covers yet. */
  private nextSeq = 1;
  /** Batches in seq order, from the oldest not yet acknowledged. */
  private queue: ForwardBatch[] = [];
  /** Highest seq below which every drain batch is acknowledged. */
  private drainedThrough = 0;
  private waitingSince: number | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** Reads on from nextSeq; null until the first read after a rewind. */
  private reader: LogReadAhead<StoredItem> | null = null;

  constructor(private readonly opts: DrainLaneOptions) {}

  get next(): number {
    return this.nextSeq;
  }

  /** Events from the drain's position up to `last`. */
  ready(last: number): number {
    return last - this.nextSeq + 1;
  }

  get batchesInFlight(): number {
    let n = 0;
    for (const b of this.queue) if (!b.acked) n++;
    return n;
  }

  /** Starts again from the cursor: what was in flight is void. */
  rewind(cursor: number): void {
    this.queue = [];
    this.drainedThrough = cursor;
    this.nextSeq = cursor + 1;
    this.waitingSince = null;
    this.stop();
  }

  stop(): void {
    this.reader?.close();
    this.reader = null;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }

  /** A partial batch waits up to `linger` for company. */
  lingerDone(): boolean {
    const { linger } = this.opts;
    const now = this.opts.now();
    if (this.waitingSince === null) this.waitingSince = now;
    if (now - this.waitingSince >= linger) return true;
    if (this.lingerTimer === null) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.opts.wake();
      }, timerDelay(linger - (now - this.waitingSince)));
    }
    return false;
  }

  /** The next batch: from the drain's position up to `last` or until it is full. */
  async read(last: number, gen: number): Promise<ForwardBatch> {
    try {
      return await this.fill(last, gen);
    } catch (err) {
      // The reader may have handed out events before the read failed (a reopen of the store
      // closes its iterator under it): it is then past the drain's position, and the next
      // batch, which covers everything from that position, would not carry them — the cursor
      // would move over events upstream never got. The next read starts a reader afresh.
      this.reader?.close();
      this.reader = null;
      throw err;
    }
  }

  private async fill(last: number, gen: number): Promise<ForwardBatch> {
    const { maxEvents, skips } = this.opts;
    const batch = newBatch('drain', this.nextSeq);
    const packer = this.opts.packer();
    this.reader ??= new LogReadAhead(this.opts.store, this.nextSeq, maxEvents, ITEMS);
    const reader = this.reader;
    // Up to `last` unless the batch fills first.
    batch.to = last;
    fill: while (batch.items.length < maxEvents) {
      const entries = await reader.next(last);
      if (entries.length === 0) break;
      for (let i = 0; i < entries.length; i++) {
        const item = entries[i];
        const seq = item.head.seq;
        if (!skips(seq) && (batch.items.length >= maxEvents || packer.offerItem(batch, item) === 'full')) {
          // The rest starts the next batch.
          reader.unread(entries.slice(i));
          batch.to = seq - 1;
          break fill;
        }
      }
      // Full at the end of a chunk: the batch ends with it.
      if (batch.items.length >= maxEvents) batch.to = entries[entries.length - 1].head.seq;
    }
    await this.opts.settleTooLarge(packer, gen);
    return batch;
  }

  /**
   * Brings back the items of a batch that let them go when it was sent: the same seqs, read
   * again, less those sent ahead of it since (the overtake lane, the DLQ) and those whose
   * ttl has passed meanwhile, which count as expired like the ones left out when it was packed.
   */
  async restore(batch: ForwardBatch): Promise<void> {
    if (!batch.released) return;
    const packer = this.opts.packer();
    const again: Packed = { items: [], expired: 0 };
    for await (const entries of scanRange(this.opts.store, batch.from, batch.to, this.opts.maxEvents)) {
      for (const [seq, bytes] of entries) {
        if (this.opts.skips(seq)) continue;
        const item = StoredItem.of(bytes);
        const verdict = packer.offerItem(again, item);
        // It went in this batch once: it still does, whatever the budget says now.
        if (verdict === 'full' || verdict === 'too-large') again.items.push(item);
      }
    }
    batch.items = again.items;
    batch.expired = again.expired;
    batch.released = false;
  }

  /** The batch read is on its way: the drain goes on after it. */
  take(batch: ForwardBatch): void {
    this.nextSeq = batch.to + 1;
    this.waitingSince = null;
    this.queue.push(batch);
  }

  /** The highest seq below which every drain batch is acknowledged. */
  settle(): number {
    while (this.queue.length && this.queue[0].acked) this.drainedThrough = this.queue.shift()!.to;
    return this.drainedThrough;
  }
}
