// Store-and-forward over the log (SPEC §4). A durable cursor marks what upstream has
// acknowledged; everything above it is the backlog. Batches leave in seq order, `inflight`
// of them pipelined, and the cursor only moves over a batch once it and every batch below
// it are acknowledged, so a crash or an outage resends (at least once) and never skips.
//
// While a backlog is draining, high and critical events overtake it: they are read through
// the `urgent` index and sent ahead; the drain then steps over them. A batch the broker
// refuses is retried with backoff and, after `maxAttempts`, bisected to find the event it
// will not take, which goes to the dead-letter queue while the rest flows on.
import type { Logger } from '../util/log.js';
import { decodeEvent } from '../events/codec.js';
import type { UpstreamConfig } from '../config/types.js';
import type { EventStore } from '../store/event-store.js';
import { parseSeqKey, seqKey } from '../store/keys.js';
import type { EdgeEvent } from '../events/types.js';
import { Timeline } from '../time/timeline.js';
import type { EventBus } from '../pipeline/bus.js';
import { timerDelay } from '../util/timer-delay.js';
import { Backoff } from '../util/backoff.js';
import { CONTENT_TYPES, encodeBatch, type BatchItem } from './batch-encoding.js';
import { BatchPacker } from './batch-packing.js';
import { ProgressSaver, readBatchNumber, readCursor } from './cursor.js';
import { deadLetterRefused, type Refusal } from './dead-letter.js';
import { Resender } from './resender.js';
import type { PublishOutcome } from './link.js';

export type { PublishOutcome };

/** What the forwarder needs of the link: a QoS 1 publish that says how it ended. */
export interface UpstreamPort {
  readonly connected: boolean;
  /** The broker's Maximum Packet Size (MQTT 5 CONNACK), null when it set none. */
  readonly maxPacketSize: number | null;
  /** Resolves with the PUBACK's verdict; rejects when the link drops first. */
  publish(topic: string, payload: Buffer, contentType: string): Promise<PublishOutcome>;
}

export interface ForwarderOptions {
  store: EventStore;
  bus: EventBus;
  link: UpstreamPort;
  config: UpstreamConfig;
  gatewayId: string;
  /** The log's last durable seq: an event still being written is not readable yet. */
  lastSeq: () => number;
  log: Logger;
  /** The gateway clock (linger, ttl, ages); default: the wall clock. */
  now?: () => number;
  /** The clock's segments: event times for ttl and ages, corrected timestamps for the batches. */
  timeline?: Timeline;
  random?: () => number;
}

export interface ForwarderCounters {
  /** Events acknowledged upstream. */
  forwarded: number;
  batches: number;
  /** Batch sends that were refused and scheduled again. */
  retries: number;
  /** Events not sent because their ttl had passed. */
  expired: number;
  /** Events upstream refused for good, now in the DLQ. */
  deadLettered: number;
}

interface Batch {
  kind: 'drain' | 'urgent';
  /** Drain batches cover a contiguous seq range, skipped events included. */
  from: number;
  to: number;
  items: BatchItem[];
  /** Events skipped because their ttl had passed: counted when the batch is settled. */
  expired: number;
  number: number;
  attempts: number;
  sending: boolean;
  acked: boolean;
  backoff: Backoff | null;
}

/** Persisting the cursor more often than this only adds SD-card writes. */

export class Forwarder {
  readonly counters: ForwarderCounters = { forwarded: 0, batches: 0, retries: 0, expired: 0, deadLettered: 0 };
  private readonly now: () => number;
  private readonly timeline: Timeline;
  private readonly timeOf = (e: EdgeEvent): number => this.timeline.eventTime(e);
  private readonly corrected = (e: EdgeEvent): string => this.timeline.correctedTimestamp(e);
  private cursor = 0;
  private batchNumber = 0;
  /** Highest seq below which every drain batch is acknowledged. */
  private drainedThrough = 0;
  private nextSeq = 1;
  private urgentScanFrom = 1;
  /** Urgent seqs above the cursor already acknowledged: the drain steps over them. */
  private readonly sentAhead = new Set<number>();
  /** Urgent seqs in flight ahead of the drain. */
  private readonly claimed = new Set<number>();
  private drains: Batch[] = [];
  private urgents = new Set<Batch>();
  /** A refused batch being retried or bisected: nothing new is sent until it is settled. */
  private blocked: Batch | null = null;
  /** Bumped whenever the link drops: callbacks of an older generation are stale. */
  private generation = 0;
  private pumping = false;
  private pumpAgain = false;
  private waitingSince: number | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private saver: ProgressSaver | null = null;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  /** Seqs of the batch being isolated that went to the DLQ. */
  private readonly deadLettered = new Set<number>();

  /** Sends stored events outside the cursor: `dlq retry` and `replay --to upstream`. */
  readonly resender: Resender;

  constructor(private readonly opts: ForwarderOptions) {
    this.now = opts.now ?? Date.now;
    this.timeline = opts.timeline ?? new Timeline();
    this.resender = new Resender({
      store: opts.store, link: opts.link, maxEvents: opts.config.batch.maxEvents,
      packer: () => this.packer(),
      publish: (items) => this.publishItems(items),
      forwarded: (n) => (this.counters.forwarded += n),
    });
  }

  async init(): Promise<void> {
    this.cursor = this.drainedThrough = await readCursor(this.opts.store);
    this.batchNumber = await readBatchNumber(this.opts.store);
    this.saver = new ProgressSaver(this.opts.store, () => ({ cursor: this.cursor, batchNumber: this.batchNumber }),
      (err) => this.opts.log.error({ err }, 'saving the upstream cursor failed'), this.cursor);
    this.rewind();
  }

  /** The last seq upstream has acknowledged (or that expired or was dead-lettered). */
  get acknowledgedThrough(): number {
    return this.cursor;
  }

  /** Events in the log not yet acknowledged upstream. */
  get backlog(): number {
    return Math.max(0, this.opts.lastSeq() - this.cursor - this.sentAhead.size);
  }

  /** Seconds since the oldest event not yet acknowledged (its event time, gateway clock); 0 when none. */
  async oldestUnsentSeconds(): Promise<number> {
    const it = this.opts.store.log.iterator({ gt: seqKey(this.cursor) });
    try {
      for (;;) {
        const entries = await it.nextv(64);
        if (entries.length === 0) return 0;
        for (const [key, value] of entries) {
          if (this.sentAhead.has(parseSeqKey(key))) continue;
          const t = this.timeOf(decodeEvent(value));
          return Number.isFinite(t) ? Math.max(0, (this.now() - t) / 1000) : 0;
        }
      }
    } finally {
      await it.close();
    }
  }

  linkUp(): void {
    this.generation++;
    this.rewind();
    this.pump();
  }

  /** Everything in flight is void: it is sent again from the cursor on the next link up. */
  linkDown(): void {
    this.generation++;
    this.rewind();
  }

  /** New events were appended. */
  poke(): void {
    this.pump();
  }

  /** Resolves once every event appended so far is acknowledged upstream (tests, shutdown). */
  drained(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    for (const t of [this.lingerTimer, this.retryTimer]) if (t) clearTimeout(t);
    await this.saver?.stop();
  }

  private rewind(): void {
    this.drains = [];
    this.urgents.clear();
    this.claimed.clear();
    this.blocked = null;
    this.drainedThrough = this.cursor;
    this.nextSeq = this.cursor + 1;
    this.urgentScanFrom = this.cursor + 1;
    this.waitingSince = null;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.lingerTimer = this.retryTimer = null;
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.fill().catch((err: unknown) => {
      this.opts.log.error({ err }, 'upstream forwarder: reading the log failed');
    }).finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private inFlight(): number {
    let n = this.urgents.size;
    for (const b of this.drains) if (!b.acked) n++;
    return n;
  }

  /** Sends batches until the window is full or nothing is ready. */
  private async fill(): Promise<void> {
    const { config } = this.opts;
    for (;;) {
      if (this.stopped || !this.opts.link.connected || this.blocked !== null) return;
      if (this.inFlight() >= config.inflight) return;
      const last = this.opts.lastSeq();
      const ready = last - this.nextSeq + 1;
      if (ready <= 0) return;
      const gen = this.generation;
      if (ready > config.batch.maxEvents) {
        const urgent = await this.readUrgent(last, gen);
        if (gen !== this.generation) return;
        if (urgent !== null) {
          this.send(urgent);
          continue;
        }
      }
      if (ready < config.batch.maxEvents && !this.lingerDone()) return;
      const batch = await this.readDrain(last, gen);
      // A link that dropped meanwhile rewound the drain: this read is stale, state untouched.
      if (gen !== this.generation) return;
      this.nextSeq = batch.to + 1;
      this.waitingSince = null;
      this.drains.push(batch);
      if (batch.items.length === 0) this.acknowledged(batch);
      else this.send(batch);
    }
  }

  /** A partial batch waits up to `linger` for company. */
  private lingerDone(): boolean {
    const linger = this.opts.config.batch.linger;
    const now = this.now();
    if (this.waitingSince === null) this.waitingSince = now;
    if (now - this.waitingSince >= linger) return true;
    if (this.lingerTimer === null) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.pump();
      }, timerDelay(linger - (now - this.waitingSince)));
    }
    return false;
  }

  private newBatch(kind: Batch['kind'], from: number): Batch {
    return { kind, from, to: from - 1, items: [], expired: 0, number: 0, attempts: 0, sending: false, acked: false, backoff: null };
  }

  private packer(): BatchPacker {
    return new BatchPacker(this.opts.config, this.opts.gatewayId, this.opts.link.maxPacketSize, this.now(), this.timeOf);
  }

  /** One batch of `items` with the next batch number: for splits, resends and replays. */
  private publishItems(items: readonly BatchItem[]): Promise<PublishOutcome> {
    return this.publishNumbered(++this.batchNumber, items);
  }

  private publishNumbered(n: number, items: readonly BatchItem[]): Promise<PublishOutcome> {
    const { config, gatewayId, link } = this.opts;
    return link.publish(config.topic, encodeBatch(config.format, gatewayId, n, items, this.corrected), CONTENT_TYPES[config.format]);
  }

  /** Events no packet the broker accepts can carry go straight to the DLQ. */
  private async settleTooLarge(packer: BatchPacker, gen: number): Promise<void> {
    for (const item of packer.tooLarge) {
      if (gen !== this.generation) return;
      const limit = this.opts.link.maxPacketSize;
      await this.deadLetter(item, { ok: false, reasonCode: 0x95, reason: `the event does not fit in the broker's maximum packet size (${limit} bytes)` });
      this.sentAhead.add(item.event.seq);
    }
  }

  private async readDrain(last: number, gen: number): Promise<Batch> {
    const { maxEvents } = this.opts.config.batch;
    const batch = this.newBatch('drain', this.nextSeq);
    const packer = this.packer();
    batch.to = last;
    const it = this.opts.store.log.iterator({ gte: seqKey(this.nextSeq), lte: seqKey(last) });
    try {
      outer: for (;;) {
        const entries = await it.nextv(maxEvents);
        if (entries.length === 0) break;
        for (const [key, value] of entries) {
          const seq = parseSeqKey(key);
          if (this.sentAhead.has(seq) || this.claimed.has(seq)) continue;
          if (batch.items.length >= maxEvents || packer.offer(batch, value) === 'full') {
            batch.to = seq - 1;
            break outer;
          }
        }
      }
    } finally {
      await it.close();
    }
    await this.settleTooLarge(packer, gen);
    return batch;
  }

  /** The urgent events above the drain not yet sent, as one batch; null when none. */
  private async readUrgent(last: number, gen: number): Promise<Batch | null> {
    const { store, config } = this.opts;
    const from = Math.max(this.urgentScanFrom, this.nextSeq);
    const keys = await store.urgent.keys({ gte: seqKey(from), lte: seqKey(last), limit: config.batch.maxEvents }).all();
    if (gen !== this.generation) return null;
    const scannedTo = keys.length === config.batch.maxEvents ? parseSeqKey(keys[keys.length - 1]) : last;
    const wanted = keys.filter((k) => !this.claimed.has(parseSeqKey(k)) && !this.sentAhead.has(parseSeqKey(k)));
    if (wanted.length === 0) {
      this.urgentScanFrom = scannedTo + 1;
      return null;
    }
    const values = await store.log.getMany(wanted);
    if (gen !== this.generation) return null;
    const batch = this.newBatch('urgent', parseSeqKey(wanted[0]));
    const packer = this.packer();
    const seqs: number[] = [];
    let scanFrom = this.urgentScanFrom;
    for (let i = 0; i < wanted.length; i++) {
      const value = values[i];
      if (value === undefined) continue; // evicted meanwhile
      const verdict = packer.offer(batch, value);
      if (verdict === 'full') break;
      if (verdict === 'added') seqs.push(parseSeqKey(wanted[i]));
      scanFrom = parseSeqKey(wanted[i]) + 1;
    }
    await this.settleTooLarge(packer, gen);
    if (gen !== this.generation) return null;
    this.urgentScanFrom = scanFrom;
    // Expired urgent events stay for the drain, which steps over them and counts them once.
    batch.expired = 0;
    if (batch.items.length === 0) return null;
    for (const s of seqs) this.claimed.add(s);
    return batch;
  }

  private send(batch: Batch): void {
    if (batch.number === 0) batch.number = ++this.batchNumber;
    if (batch.kind === 'urgent') this.urgents.add(batch);
    batch.sending = true;
    batch.attempts++;
    const gen = this.generation;
    const sentAt = performance.now();
    this.publishNumbered(batch.number, batch.items).then((outcome) => {
      if (gen !== this.generation) return;
      batch.sending = false;
      if (outcome.ok) {
        this.opts.bus.emit('batchAcknowledged', { events: batch.items.length, seconds: (performance.now() - sentAt) / 1000 });
        this.acknowledged(batch);
      } else this.refused(batch, outcome);
    }, (err: unknown) => {
      // The link dropped: linkDown() rewinds everything, this batch included.
      if (gen === this.generation) this.opts.log.debug({ err, batch: batch.number }, 'upstream batch not acknowledged');
    });
  }

  private acknowledged(batch: Batch): void {
    batch.acked = true;
    batch.sending = false;
    this.counters.expired += batch.expired;
    if (batch.items.length) {
      this.counters.forwarded += batch.items.length;
      this.counters.batches++;
    }
    if (batch.kind === 'urgent') {
      this.urgents.delete(batch);
      for (const { event } of batch.items) {
        this.claimed.delete(event.seq);
        this.sentAhead.add(event.seq);
      }
    }
    while (this.drains.length && this.drains[0].acked) this.drainedThrough = this.drains.shift()!.to;
    this.advanceCursor();
    this.pump();
  }

  /** The cursor never passes an urgent event still in flight ahead of the drain. */
  private advanceCursor(): void {
    let through = this.drainedThrough;
    for (const s of this.claimed) if (s <= through) through = s - 1;
    if (through <= this.cursor) return;
    this.cursor = through;
    for (const s of this.sentAhead) if (s <= through) this.sentAhead.delete(s);
    this.saver?.schedule();
    if (this.backlog === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private refused(batch: Batch, outcome: Refusal): void {
    const { retry } = this.opts.config;
    this.blocked = batch;
    this.opts.log.warn({ batch: batch.number, events: batch.items.length, attempt: batch.attempts, reasonCode: outcome.reasonCode, reason: outcome.reason },
      'upstream refused a batch');
    if (batch.attempts < retry.maxAttempts) {
      this.counters.retries++;
      batch.backoff ??= new Backoff(retry, this.opts.random);
      const gen = this.generation;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (gen === this.generation && this.opts.link.connected) this.send(batch);
      }, batch.backoff.next());
      return;
    }
    const gen = this.generation;
    void this.isolate(batch.items, outcome, gen).then(() => {
      if (gen !== this.generation) return;
      this.blocked = null;
      // Every event of the batch is now either upstream or dead-lettered.
      batch.items = batch.items.filter((i) => !this.deadLettered.has(i.event.seq));
      if (batch.kind === 'urgent') {
        for (const seq of this.deadLettered) {
          this.claimed.delete(seq);
          this.sentAhead.add(seq);
        }
      }
      this.deadLettered.clear();
      this.acknowledged(batch);
    }, (err: unknown) => {
      if (gen === this.generation) this.opts.log.warn({ err }, 'upstream dropped while isolating a refused batch');
    });
  }

  /**
   * Bisects a batch upstream keeps refusing: each half is sent once; a half refused again
   * is split further, and a single event refused goes to the dead-letter queue.
   */
  private async isolate(items: BatchItem[], lastRefusal: Refusal, gen: number): Promise<void> {
    if (items.length === 1) return this.deadLetter(items[0], lastRefusal);
    const mid = Math.ceil(items.length / 2);
    for (const half of [items.slice(0, mid), items.slice(mid)]) {
      if (gen !== this.generation) return;
      const outcome = await this.publishItems(half);
      if (outcome.ok) continue;
      if (half.length === 1) await this.deadLetter(half[0], outcome);
      else await this.isolate(half, outcome, gen);
    }
  }

  private async deadLetter(item: BatchItem, refusal: Refusal): Promise<void> {
    const { record, known } = await deadLetterRefused(this.opts.store, this.opts.config.topic, item, refusal, Date.now());
    this.deadLettered.add(item.event.seq);
    if (known) return;
    this.counters.deadLettered++;
    this.opts.bus.emit('rejected', record);
  }
}
