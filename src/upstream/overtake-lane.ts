// High and critical events overtake the backlog: while the drain is further behind than
// one batch, they are read through the store's urgent index and sent ahead of it. The
// lane remembers which seqs are in flight ahead (`claimed`) and which upstream already
// has (`sentAhead`), so the drain steps over both and the cursor never passes a claimed
// seq before its batch is acknowledged.
import type { EventStore } from '../store/event-store.js';
import { readSeqs, urgentSeqs } from '../store/log-range.js';
import type { BatchPacker } from './batch-packing.js';
import { newBatch, type ForwardBatch } from './forward-batch.js';

export interface OvertakeLaneOptions {
  store: EventStore;
  maxEvents: number;
  packer: () => BatchPacker;
  /** Sends what no packet can carry to the DLQ; the lane then steps over those seqs. */
  settleTooLarge: (packer: BatchPacker, gen: number) => Promise<void>;
  /** True once the link dropped after `gen` was taken: what was read is stale. */
  isStale: (gen: number) => boolean;
}

export class OvertakeLane {
  private scanFrom = 1;
  /** Urgent seqs above the cursor already acknowledged: the drain steps over them. */
  private readonly sentAhead = new Set<number>();
  /** Urgent seqs in flight ahead of the drain. */
  private readonly claimed = new Set<number>();
  private readonly inFlight = new Set<ForwardBatch>();

  constructor(private readonly opts: OvertakeLaneOptions) {}

  /** Urgent batches sent and not yet settled. */
  get batchesInFlight(): number {
    return this.inFlight.size;
  }

  /** Events above the cursor upstream already has. */
  get aheadCount(): number {
    return this.sentAhead.size;
  }

  isSentAhead(seq: number): boolean {
    return this.sentAhead.has(seq);
  }

  /** The drain leaves out what is sent or being sent ahead of it. */
  skips(seq: number): boolean {
    return this.sentAhead.has(seq) || this.claimed.has(seq);
  }

  /** Upstream has this seq (or it went to the DLQ): the drain steps over it. */
  stepOver(seq: number): void {
    this.claimed.delete(seq);
    this.sentAhead.add(seq);
  }

  /** The link dropped: what was in flight is void and is read again from the cursor. */
  rewind(cursor: number): void {
    this.inFlight.clear();
    this.claimed.clear();
    this.scanFrom = cursor + 1;
  }

  /** The urgent events from `from` to `last` not yet sent, as one batch; null when none. */
  async read(from: number, last: number, gen: number): Promise<ForwardBatch | null> {
    const { store, maxEvents, isStale } = this.opts;
    const start = Math.max(this.scanFrom, from);
    // Scanned already: no index read per drain batch while nothing new is appended.
    if (start > last) return null;
    const seqs = await urgentSeqs(store, start, last, maxEvents);
    if (isStale(gen)) return null;
    const scannedTo = seqs.length === maxEvents ? seqs[seqs.length - 1] : last;
    const wanted = seqs.filter((s) => !this.skips(s));
    if (wanted.length === 0) {
      this.scanFrom = scannedTo + 1;
      return null;
    }
    const values = await readSeqs(store, wanted);
    if (isStale(gen)) return null;
    const batch = newBatch('urgent', wanted[0]);
    const packer = this.opts.packer();
    const added: number[] = [];
    let scanFrom = this.scanFrom;
    for (let i = 0; i < wanted.length; i++) {
      const value = values[i];
      if (value === undefined) continue; // evicted meanwhile
      const verdict = packer.offer(batch, value);
      if (verdict === 'full') break;
      if (verdict === 'added') added.push(wanted[i]);
      scanFrom = wanted[i] + 1;
    }
    await this.opts.settleTooLarge(packer, gen);
    if (isStale(gen)) return null;
    this.scanFrom = scanFrom;
    // Expired urgent events stay for the drain, which steps over them and counts them once.
    batch.expired = 0;
    if (batch.items.length === 0) return null;
    for (const s of added) this.claimed.add(s);
    return batch;
  }

  sending(batch: ForwardBatch): void {
    this.inFlight.add(batch);
  }

  acknowledged(batch: ForwardBatch): void {
    this.inFlight.delete(batch);
    for (const { head } of batch.items) this.stepOver(head.seq);
  }

  /** How far the cursor may move towards `through`: not past a seq still in flight ahead. */
  limit(through: number): number {
    for (const s of this.claimed) if (s <= through) through = s - 1;
    return through;
  }

  /** The cursor reached `cursor`: what was sent ahead below it is behind the cursor now. */
  passed(cursor: number): void {
    for (const s of this.sentAhead) if (s <= cursor) this.sentAhead.delete(s);
  }
}
