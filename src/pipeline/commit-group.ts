// One commit group: everything that goes into one atomic LevelDB write, built as the
// submissions arrive, and the callbacks that run once that write is durable.
import { performance } from 'node:perf_hooks';
import type { EdgeEvent } from '../events/types.js';
import type { RejectedRecord } from '../store/rejected.js';
import type { LogBatch } from '../store/log-writer.js';
import type { Ack } from './ack.js';

export class CommitGroup {
  readonly acks: Ack[] = [];
  readonly appended: EdgeEvent[] = [];
  readonly rejected: RejectedRecord[] = [];
  /** Publisher ids recorded, for their pruning, and the seq of the last event that had one. */
  readonly ids: string[] = [];
  lastIdSeq = 0;
  /** Per source: the stream segment this group appends. */
  readonly segments = new Map<string, { firstVersion: number; seqs: number[] }>();
  duplicates = 0;
  staged = 0;
  /** When the first submission joined, for the ack-latency histogram. */
  readonly since = performance.now();

  constructor(readonly batch: LogBatch) {}

  get empty(): boolean {
    return this.acks.length === 0 && this.batch.length === 0;
  }

  addToSegment(source: string, version: number, seq: number): void {
    const seg = this.segments.get(source);
    if (seg) seg.seqs.push(seq);
    else this.segments.set(source, { firstVersion: version, seqs: [seq] });
  }

  settle(err: Error | null): void {
    for (const ack of this.acks) ack(err);
  }
}
