// What happens when upstream will not take a batch: it is retried with backoff and, after
// `maxAttempts`, bisected to find the events it refuses, which go to the dead-letter
// queue while the rest is acknowledged. Events no packet the broker accepts could carry
// go to the DLQ without being tried. While a refused batch is being settled nothing new
// is sent, so the log still leaves in order.
import type { Logger } from '../util/log.js';
import type { UpstreamConfig } from '../config/types.js';
import type { EventStore } from '../store/event-store.js';
import type { EventBus } from '../pipeline/bus.js';
import { Backoff } from '../util/backoff.js';
import type { BatchItem } from './batch-encoding.js';
import type { BatchPacker } from './batch-packing.js';
import { deadLetterRefused, type Refusal } from './dead-letter.js';
import type { ForwardBatch } from './forward-batch.js';
import type { ForwarderCounters, PublishOutcome, UpstreamPort } from './forwarder-ports.js';

export interface RefusalHandlerOptions {
  store: EventStore;
  bus: EventBus;
  link: UpstreamPort;
  config: UpstreamConfig;
  log: Logger;
  counters: ForwarderCounters;
  random?: () => number;
  /** Brings back the items of a batch that let them go once sent (store reads). */
  restore: (batch: ForwardBatch) => Promise<void>;
  /** Publishes items as a batch with the next batch number (the halves of a bisection). */
  publishItems: (items: readonly BatchItem[]) => Promise<PublishOutcome>;
  /** Sends the batch again, under its own number. */
  resend: (batch: ForwardBatch) => void;
  /** The batch is settled: these of its seqs went to the DLQ, the rest are upstream. */
  settled: (batch: ForwardBatch, deadLettered: ReadonlySet<number>) => void;
  isStale: (gen: number) => boolean;
}

export class RefusalHandler {
  /** A refused batch being retried or bisected. */
  private refusedBatch: ForwardBatch | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: RefusalHandlerOptions) {}

  /** Nothing new is sent while a refused batch is being settled. */
  get blocked(): boolean {
    return this.refusedBatch !== null;
  }

  /** The link dropped: the refused batch is read and sent again like the rest. */
  rewind(): void {
    this.refusedBatch = null;
    this.stop();
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  refused(batch: ForwardBatch, outcome: Refusal, gen: number): void {
    const { retry } = this.opts.config;
    this.refusedBatch = batch;
    this.opts.log.warn({ batch: batch.number, events: batch.events, attempt: batch.attempts, reasonCode: outcome.reasonCode, reason: outcome.reason },
      'upstream refused a batch');
    // Nothing else is sent meanwhile (`blocked`), so a read of the log here keeps the order.
    this.opts.restore(batch).then(() => {
      if (this.opts.isStale(gen)) return;
      if (batch.items.length === 0) {
        // Every event of it expired while it waited: nothing is left to send.
        this.refusedBatch = null;
        batch.events = 0;
        this.opts.settled(batch, new Set());
      } else if (batch.attempts < retry.maxAttempts) {
        this.opts.counters.retries++;
        this.retry(batch, gen);
      } else this.split(batch, outcome, gen);
    }, (err: unknown) => {
      if (!this.opts.isStale(gen)) this.opts.log.error({ err, batch: batch.number }, 'upstream: reading a refused batch back from the log failed');
    });
  }

  private retry(batch: ForwardBatch, gen: number): void {
    batch.backoff ??= new Backoff(this.opts.config.retry, this.opts.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.opts.isStale(gen) && this.opts.link.connected) this.opts.resend(batch);
    }, batch.backoff.next());
  }

  private split(batch: ForwardBatch, outcome: Refusal, gen: number): void {
    const deadLettered = new Set<number>();
    void this.isolate(batch.items, outcome, gen, deadLettered).then(() => {
      if (this.opts.isStale(gen)) return;
      this.refusedBatch = null;
      // Every event of the batch is now either upstream or dead-lettered.
      batch.items = batch.items.filter((i) => !deadLettered.has(i.head.seq));
      batch.events = batch.items.length;
      this.opts.settled(batch, deadLettered);
    }, (err: unknown) => {
      if (!this.opts.isStale(gen)) this.opts.log.warn({ err }, 'upstream dropped while isolating a refused batch');
    });
  }

  /** Events no packet the broker accepts can carry go straight to the DLQ; `stepOver` each. */
  async settleTooLarge(packer: BatchPacker, gen: number, stepOver: (seq: number) => void): Promise<void> {
    for (const item of packer.tooLarge) {
      if (this.opts.isStale(gen)) return;
      const limit = this.opts.link.maxPacketSize;
      await this.deadLetter(item, { ok: false, reasonCode: 0x95, reason: `the event does not fit in the broker's maximum packet size (${limit} bytes)` });
      stepOver(item.head.seq);
    }
  }

  /**
   * Bisects a batch upstream keeps refusing: each half is sent once; a half refused again
   * is split further, and a single event refused goes to the dead-letter queue.
   */
  private async isolate(items: BatchItem[], lastRefusal: Refusal, gen: number, deadLettered: Set<number>): Promise<void> {
    if (items.length === 1) return this.deadLetterInto(items[0], lastRefusal, deadLettered);
    const mid = Math.ceil(items.length / 2);
    for (const half of [items.slice(0, mid), items.slice(mid)]) {
      if (this.opts.isStale(gen)) return;
      const outcome = await this.opts.publishItems(half);
      if (outcome.ok) continue;
      if (half.length === 1) await this.deadLetterInto(half[0], outcome, deadLettered);
      else await this.isolate(half, outcome, gen, deadLettered);
    }
  }

  private async deadLetterInto(item: BatchItem, refusal: Refusal, deadLettered: Set<number>): Promise<void> {
    await this.deadLetter(item, refusal);
    deadLettered.add(item.head.seq);
  }

  private async deadLetter(item: BatchItem, refusal: Refusal): Promise<void> {
    const { record, known } = await deadLetterRefused(this.opts.store, this.opts.config.topic, item, refusal, Date.now());
    if (known) return;
    this.opts.counters.deadLettered++;
    this.opts.bus.emit('rejected', record);
  }
}
