// One commit group: everything that goes into one atomic LevelDB write, built as the
// submissions arrive, and the callbacks that run once that write is durable.
import type { EdgeEvent } from '../events/types.js';
import type { RejectedRecord } from '../store/rejected.js';
import type { LogBatch } from '../store/log-writer.js';
import type { Ack } from './ack.js';

export class CommitGroup {
  private readonly waiting: Ack[] = [];
  readonly appended: EdgeEvent[] = [];
  readonly rejected: RejectedRecord[] = [];
  /** Publisher ids recorded, for their pruning, and the seq of the last event that had one. */
  readonly ids: string[] = [];
  lastIdSeq = 0;
  /** Per source: the stream segment this group appends. */
  readonly segments = new Map<string, { firstVersion: number; seqs: number[] }>();
  duplicates = 0;
  staged = 0;
  /**
   * When the first submission joined (the monotonic clock, ms), for the ack-latency
   * histogram; NaN until one has. Not when the group was made: a group is made when the
   * one before it starts its write, and may then wait idle for minutes.
   */
  private joinedAt = Number.NaN;

  constructor(readonly batch: LogBatch, private readonly monotonic: () => number) {}

  get empty(): boolean {
    return this.waiting.length === 0 && this.batch.length === 0;
  }

  get since(): number {
    return this.joinedAt;
  }

  /** Submissions (and the appender's own entries) acknowledged with this group. */
  get acks(): number {
    return this.waiting.length;
  }

  /** A submission joins: its callback runs once the group is durable (or refused). */
  join(ack: Ack): void {
    if (this.waiting.length === 0) this.joinedAt = this.monotonic();
    this.waiting.push(ack);
  }

  addToSegment(source: string, version: number, seq: number): void {
    const seg = this.segments.get(source);
    if (seg) seg.seqs.push(seq);
    else this.segments.set(source, { firstVersion: version, seqs: [seq] });
  }

  settle(err: Error | null): void {
    for (const ack of this.waiting) ack(err);
  }
}
