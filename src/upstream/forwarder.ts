// Store-and-forward over the log (SPEC §4). A durable cursor marks what upstream has
// acknowledged; everything above it is the backlog. Batches leave in seq order, `inflight`
// of them pipelined, and the cursor only moves over a batch once it and every batch below
// it are acknowledged, so a crash or an outage resends (at least once) and never skips.
//
// This is the coordinator: it decides what is sent next and moves the cursor. The drain
// (drain-lane.ts) reads the backlog in order, the overtake lane (overtake-lane.ts) sends
// high and critical events ahead of it, and the refusal handler (refusal-handler.ts)
// retries, bisects and dead-letters what upstream refuses. A link that drops bumps the
// generation: whatever an older generation started is stale and changes nothing.
// With routes (routes/upstream-routing.ts) a batch is one publish per topic, and it is
// acknowledged only when all of them are: the one cursor holds for every route.
import type { BatchUpstreamConfig, EventVersion } from '../config/types.js';
import { decodeEvent, encodeValue } from '../events/codec.js';
import type { EdgeEvent } from '../events/types.js';
import { scanRange } from '../store/log-range.js';
import { Timeline } from '../time/timeline.js';
import { CONTENT_TYPES, encodeBatch, type BatchItem } from './batch-encoding.js';
import { BatchPacker } from './batch-packing.js';
import { ProgressSaver, readBatchNumber, readCursor } from './cursor.js';
import { ReadRetry } from './read-retry.js';
import { DrainLane } from './drain-lane.js';
import { correctedTimestamp, type EventHead } from './event-head.js';
import type { ForwardBatch } from './forward-batch.js';
import type { ForwarderCounters, ForwarderOptions, PublishOutcome } from './forwarder-ports.js';
import { OvertakeLane } from './overtake-lane.js';
import { RefusalHandler } from './refusal-handler.js';
import { Resender } from './resender.js';

const OK: PublishOutcome = { ok: true };

export type { ForwarderCounters, ForwarderOptions, PublishOutcome, UpstreamPort } from './forwarder-ports.js';

export class Forwarder {
  readonly counters: ForwarderCounters = { forwarded: 0, batches: 0, retries: 0, expired: 0, deadLettered: 0 };
  /** Sends stored events outside the cursor: `dlq retry` and `replay --to upstream`. */
  readonly resender: Resender;
  private readonly now: () => number;
  private readonly timeline: Timeline;
  private readonly timeOf = (e: EdgeEvent): number => this.timeline.eventTime(e);
  private readonly correction = (seq: number): number => this.timeline.correction(seq);
  private readonly corrected = (h: EventHead): string => correctedTimestamp(this.correction, h);
  private readonly drain: DrainLane;
  private readonly overtake: OvertakeLane;
  private readonly refusals: RefusalHandler;
  private cursor = 0;
  private batchNumber = 0;
  /** Bumped whenever the link drops: callbacks of an older generation are stale. */
  private generation = 0;
  private pumping = false;
  private pumpAgain = false;
  private saver: ProgressSaver | null = null;
  private readonly readRetry = new ReadRetry(() => this.pump());
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  /** The config with its format narrowed: this forwarder sends batches, never Sparkplug B. */
  private readonly batchConfig: BatchUpstreamConfig;

  constructor(private readonly opts: ForwarderOptions) {
    const { format } = opts.config;
    if (format === 'sparkplug') throw new TypeError('upstream.format sparkplug is sent by the Sparkplug edge node (upstream/sparkplug/), not the batch forwarder');
    this.batchConfig = { ...opts.config, format };
    this.now = opts.now ?? Date.now;
    this.timeline = opts.timeline ?? new Timeline();
    const { store, config } = opts;
    const packer = (): BatchPacker => this.packer();
    const isStale = (gen: number): boolean => gen !== this.generation;
    this.refusals = new RefusalHandler({
      store, bus: opts.bus, link: opts.link, config, log: opts.log, counters: this.counters, random: opts.random, isStale,
      publishItems: (items) => this.publishItems(items),
      restore: (batch) => this.drain.restore(batch),
      resend: (batch) => this.send(batch),
      settled: (batch, deadLettered) => {
        if (batch.kind === 'urgent') for (const seq of deadLettered) this.overtake.stepOver(seq);
        this.acknowledged(batch);
      },
    });
    const settleTooLarge = (p: BatchPacker, gen: number): Promise<void> => this.refusals.settleTooLarge(p, gen, (seq) => this.overtake.stepOver(seq));
    this.overtake = new OvertakeLane({ store, maxEvents: config.batch.maxEvents, packer, settleTooLarge, isStale });
    this.drain = new DrainLane({
      store, maxEvents: config.batch.maxEvents, linger: config.batch.linger, packer, settleTooLarge, now: this.now,
      skips: (seq) => this.overtake.skips(seq),
      wake: () => this.pump(),
    });
    this.resender = new Resender({
      store, link: opts.link, maxEvents: config.batch.maxEvents, packer,
      publish: (items) => this.publishItems(items),
      forwarded: (n) => (this.counters.forwarded += n),
    });
  }

  /** Set by settle(): the stop is coming, nothing new leaves. */
  private holding = false;

  async init(): Promise<void> {
    this.cursor = await readCursor(this.opts.store);
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
    return Math.max(0, this.opts.lastSeq() - this.cursor - this.overtake.aheadCount);
  }

  /** Seconds since the oldest event not yet acknowledged (its event time, gateway clock); 0 when none. */
  async oldestUnsentSeconds(): Promise<number> {
    for await (const entries of scanRange(this.opts.store, this.cursor + 1, Infinity, 64)) {
      for (const [seq, bytes] of entries) {
        if (this.overtake.isSentAhead(seq)) continue;
        const t = this.timeOf(decodeEvent(bytes));
        return Number.isFinite(t) ? Math.max(0, (this.now() - t) / 1000) : 0;
      }
    }
    return 0;
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

  /**
   * Sends nothing new and waits (up to `timeoutMs`) for the batches in flight to be
   * acknowledged: a stop after this leaves no batch sent but unacknowledged, which the next
   * start would send again.
   */
  async settle(timeoutMs: number): Promise<void> {
    this.holding = true;
    const deadline = Date.now() + timeoutMs;
    while (this.drain.batchesInFlight + this.overtake.batchesInFlight > 0 && this.opts.link.connected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.readRetry.stop();
    this.drain.stop();
    this.refusals.stop();
    await this.saver?.stop();
  }

  private rewind(): void {
    this.drain.rewind(this.cursor);
    this.overtake.rewind(this.cursor);
    this.refusals.rewind();
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.fill().then(() => this.readRetry.succeeded(), (err: unknown) => {
      this.opts.log.error({ err }, 'upstream forwarder: reading the log failed');
      this.readRetry.failed();
    }).finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  /** Sends batches until the window is full or nothing is ready. */
  private async fill(): Promise<void> {
    const { config } = this.opts;
    for (;;) {
      if (this.stopped || this.holding || !this.opts.link.connected || this.refusals.blocked) return;
      if (this.drain.batchesInFlight + this.overtake.batchesInFlight >= config.inflight) return;
      const last = this.opts.lastSeq();
      const ready = this.drain.ready(last);
      if (ready <= 0) return;
      const gen = this.generation;
      if (ready > config.batch.maxEvents) {
        const urgent = await this.overtake.read(this.drain.next, last, gen);
        if (gen !== this.generation) return;
        if (urgent !== null) {
          this.send(urgent);
          continue;
        }
      }
      if (ready < config.batch.maxEvents && !this.drain.lingerDone()) return;
      const batch = await this.drain.read(last, gen);
      // A link that dropped meanwhile rewound the drain: this read is stale, state untouched.
      if (gen !== this.generation) return;
      this.drain.take(batch);
      if (batch.items.length === 0) this.acknowledged(batch);
      else this.send(batch);
    }
  }

  private packer(): BatchPacker {
    return new BatchPacker(this.batchConfig, this.opts.gatewayId, this.opts.link.maxPacketSize, this.now(), this.timeOf, this.opts.routing?.topicBytes);
  }

  /** One batch of `items` with the next batch number: for splits, resends and replays. */
  private publishItems(items: readonly BatchItem[]): Promise<PublishOutcome> {
    return this.publishNumbered(++this.batchNumber, items);
  }

  /**
   * With routes, one publish per topic the batch's events go to, all under the batch's
   * number; the batch is acknowledged only when every one is, and refused when any is.
   */
  private publishNumbered(n: number, items: readonly BatchItem[]): Promise<PublishOutcome> {
    const { gatewayId, link, routing } = this.opts;
    const config = this.batchConfig;
    const type = CONTENT_TYPES[config.format];
    const fallback = config.eventVersion ?? 'as-stored';
    if (routing === undefined) return link.publish(config.topic, encodeBatch(config.format, gatewayId, n, this.shaped(items, fallback), this.corrected), type);
    const groups = routing.groups(items, this.timeOf);
    // Every event stays local or was thinned out: nothing to wait for.
    if (groups.length === 0) return Promise.resolve(OK);
    const sent = groups.map((g) => link.publish(g.topic, encodeBatch(config.format, gatewayId, n, this.shaped(g.items, g.eventVersion ?? fallback), this.corrected), type));
    if (sent.length === 1) return sent[0];
    return Promise.all(sent).then((outcomes) => outcomes.find((o) => !o.ok) ?? OK);
  }

  /**
   * The items in the shape `version` asks for. As stored, or with no schemas: the items
   * themselves. Latest: an event whose bytes name no schema with older versions is still
   * copied as stored; one that needed an upcast is re-encoded (its head is unchanged: an
   * upcast touches the payload, the reading and metadata.version only).
   */
  private shaped(items: readonly BatchItem[], version: EventVersion): readonly BatchItem[] {
    const latest = this.opts.latest;
    if (version !== 'latest' || latest === undefined) return items;
    let out: BatchItem[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!latest.mayNeedUpcast(item.bytes)) continue;
      const event = latest.event(item.event);
      if (event === item.event) continue;
      out ??= items.slice();
      out[i] = { bytes: encodeValue(event), head: item.head, event };
    }
    return out ?? items;
  }

  private send(batch: ForwardBatch): void {
    if (batch.number === 0) batch.number = ++this.batchNumber;
    if (batch.kind === 'urgent') this.overtake.sending(batch);
    batch.sending = true;
    batch.attempts++;
    batch.events = batch.items.length;
    const gen = this.generation;
    const sentAt = performance.now();
    const published = this.publishNumbered(batch.number, batch.items);
    // Encoded, a drain batch's items are needed again only if upstream refuses it, and then
    // they are read again from the log. Held until the PUBACK, `inflight` batches of them
    // outlived every young-generation collection of the size-favouring heap and were
    // promoted: ~1.5 µs of GC per drained event, a sixth of the daemon's CPU in a drain.
    if (batch.kind === 'drain') {
      batch.items = [];
      batch.released = true;
    }
    published.then((outcome) => {
      if (gen !== this.generation) return;
      batch.sending = false;
      if (outcome.ok) {
        this.opts.bus.emit('batchAcknowledged', { events: batch.events, seconds: (performance.now() - sentAt) / 1000 });
        this.acknowledged(batch);
      } else this.refusals.refused(batch, outcome, gen);
    }, (err: unknown) => {
      // The link dropped: linkDown() rewinds everything, this batch included.
      if (gen === this.generation) this.opts.log.debug({ err, batch: batch.number }, 'upstream batch not acknowledged');
    });
  }

  private acknowledged(batch: ForwardBatch): void {
    batch.acked = true;
    batch.sending = false;
    this.counters.expired += batch.expired;
    if (batch.events) {
      this.counters.forwarded += batch.events;
      this.counters.batches++;
    }
    if (batch.kind === 'urgent') this.overtake.acknowledged(batch);
    this.advanceCursor(this.drain.settle());
    this.pump();
  }

  /** The cursor never passes an urgent event still in flight ahead of the drain. */
  private advanceCursor(drainedThrough: number): void {
    const through = this.overtake.limit(drainedThrough);
    if (through <= this.cursor) return;
    this.cursor = through;
    this.overtake.passed(through);
    this.opts.routing?.passed(through);
    this.saver?.schedule();
    if (this.backlog === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
