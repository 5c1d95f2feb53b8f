// One batch on its way upstream, as the drain, the overtake lane and the refusal handler
// share it: which seqs it covers, what it carries, and how far its sending has got.
import type { Backoff } from '../util/backoff.js';
import type { BatchItem } from './batch-encoding.js';

export interface ForwardBatch {
  kind: 'drain' | 'urgent';
  /** Drain batches cover a contiguous seq range, skipped events included. */
  from: number;
  to: number;
  items: BatchItem[];
  /** Events the batch carries; still counted once its items are let go. */
  events: number;
  /**
   * The items were let go once the batch was encoded and sent (drain batches): they are read
   * again from the log only if upstream refuses the batch.
   */
  released: boolean;
  /** Events skipped because their ttl had passed: counted when the batch is settled. */
  expired: number;
  /** The batch number upstream sees; 0 until first sent. */
  number: number;
  attempts: number;
  sending: boolean;
  acked: boolean;
  backoff: Backoff | null;
}

export function newBatch(kind: ForwardBatch['kind'], from: number): ForwardBatch {
  return { kind, from, to: from - 1, items: [], events: 0, released: false, expired: 0, number: 0, attempts: 0, sending: false, acked: false, backoff: null };
}
