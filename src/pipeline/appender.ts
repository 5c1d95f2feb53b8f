// The only way into the log. Submissions are grouped: everything that arrives while one
// LevelDB write is in flight goes into the next, as one atomic batch (events, stream
// segments, publisher ids, source states, staged drafts, rejected payloads). Each
// submission's callback — the PUBACK, for MQTT — runs only after that batch is durable.
import { performance } from 'node:perf_hooks';
import { CborWriter } from '../events/cbor-writer.js';
import { decodeValue, encodeValue } from '../events/codec.js';
import { defaultMetadata, type EdgeEvent, type EventDraft } from '../events/types.js';
import { ulid } from '../events/ulid.js';
import type { EventStore } from '../store/event-store.js';
import type { WriteBatch } from '../store/write-batch.js';
import { pendingKey, seqKey, streamKey, timeKey } from '../store/keys.js';
import { putRejected, type RejectedRecord } from '../store/rejected.js';
import type { EventBus } from '../util/bus.js';
import { IdIndex } from './id-index.js';
import { Sequencer, type SequencerOp, type SourceState, type StagedDraft, type SystemNotice } from './sequencer.js';

export type Ack = (err: Error | null) => void;

/** What one commit group writes besides the events themselves. */
interface GroupWrites {
  batch: WriteBatch;
  /** Publisher ids recorded, for their expiry. */
  ids: string[];
  /** Per source: the stream segment this group appends. */
  segments: Map<string, { firstVersion: number; seqs: number[] }>;
}

export type Submission =
  | { kind: 'event'; draft: EventDraft }
  | { kind: 'rejected'; record: RejectedRecord };

type Queued = Submission | { kind: 'release' };

export interface AppenderOptions {
  store: EventStore;
  bus: EventBus;
  gatewayId: string;
  durability: 'fsync' | 'write';
  reorderWindow: number;
  dedupWindow: number;
  now?: () => number;
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`event store write failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export class Appender {
  private readonly store: EventStore;
  private readonly bus: EventBus;
  private readonly sequencer: Sequencer;
  private readonly ids: IdIndex;
  private readonly now: () => number;
  private queue: Queued[] = [];
  private acks: Ack[] = [];
  private queueSince = 0;
  private writing = false;
  private scheduled = false;
  private closed = false;
  private recovering = false;
  private lastSeq = 0;
  private lastTimeMark = -1;
  private releaseTimer: NodeJS.Timeout | null = null;
  private readonly writer = new CborWriter();
  private idle: (() => void)[] = [];
  /** Counters since start: read by /metrics and the benchmark. */
  readonly stats = { writes: 0, events: 0 };

  constructor(private readonly opts: AppenderOptions) {
    this.store = opts.store;
    this.bus = opts.bus;
    this.now = opts.now ?? Date.now;
    this.sequencer = new Sequencer({ reorderWindow: opts.reorderWindow, dedupWindow: opts.dedupWindow });
    this.ids = new IdIndex(opts.store, opts.dedupWindow);
  }

  get seq(): number {
    return this.lastSeq;
  }

  get idIndex(): IdIndex {
    return this.ids;
  }

  stagedCount(): number {
    return this.sequencer.stagedCount();
  }

  sourceStates(): IterableIterator<[string, SourceState]> {
    return this.sequencer.sources();
  }

  /** Reads the durable state back: last seq, source states, drafts waiting for predecessors. */
  async init(): Promise<void> {
    this.lastSeq = await this.store.lastSeq();
    // A Pi has no RTC: after a restart its clock may be behind the last mark, and a mark
    // must never point at a later seq than one written before it.
    const marks = await this.store.times.keys({ reverse: true, limit: 1 }).all();
    this.lastTimeMark = marks.length ? Number(marks[0]) : -1;
    const states: [string, SourceState][] = [];
    for await (const [source, bytes] of this.store.sources.iterator()) states.push([source, decodeValue<SourceState>(bytes)]);
    const staged: StagedDraft[] = [];
    const deadline = this.now() + this.opts.reorderWindow;
    for await (const bytes of this.store.pending.values()) staged.push({ draft: decodeValue<EventDraft>(bytes), deadline });
    this.sequencer.load(states, staged);
    this.armReleaseTimer();
  }

  submit(item: Submission, ack: Ack): void {
    if (this.closed || this.recovering) {
      // Refuse at once rather than hold the publisher: it will send again later.
      ack(new StoreUnavailableError(new Error(this.closed ? 'store is closing' : 'store is being reopened after a failed write')));
      return;
    }
    if (this.queue.length === 0) this.queueSince = performance.now();
    this.queue.push(item);
    this.acks.push(ack);
    this.schedule();
  }

  /** Appends a gateway-made event (system events, alerts, commands) through the same path. */
  append(draft: EventDraft): Promise<void> {
    return new Promise((resolve, reject) => this.submit({ kind: 'event', draft }, (err) => (err ? reject(err) : resolve())));
  }

  /** Waits until everything submitted so far is durable; then refuses new submissions. */
  async close(): Promise<void> {
    // The write in flight re-arms the release timer when it completes: clear it after.
    await this.flushed();
    this.closed = true;
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
  }

  /** Resolves once the queue is empty and no write is in flight. */
  flushed(): Promise<void> {
    if (!this.writing && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // Let the rest of this tick's packets join the group.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.writing || this.queue.length === 0) {
      if (!this.writing) this.notifyIdle();
      return;
    }
    const group = this.queue;
    const acks = this.acks;
    const since = this.queueSince;
    this.queue = [];
    this.acks = [];
    this.writing = true;
    const batch = this.store.writeBatch();
    const appended: EdgeEvent[] = [];
    const counts = { duplicates: 0, rejected: 0, staged: 0 };
    const now = this.now();
    try {
      this.build(group, batch, now, appended, counts);
    } catch (err) {
      batch.clear();
      this.fail(acks, err);
      return;
    }
    const writeStart = performance.now();
    batch.write(this.opts.durability === 'fsync').then(() => {
      const done = performance.now();
      this.stats.writes++;
      this.stats.events += appended.length;
      this.writing = false;
      for (const ack of acks) ack(null);
      this.bus.emit('committed', {
        events: appended.length,
        duplicates: counts.duplicates,
        rejected: counts.rejected,
        staged: counts.staged,
        writeSeconds: (done - writeStart) / 1e3,
        ackSeconds: (done - since) / 1e3,
      });
      if (appended.length) this.bus.emit('appended', appended);
      if (counts.rejected) for (const item of group) if (item.kind === 'rejected') this.bus.emit('rejected', item.record);
      this.armReleaseTimer();
      this.flush();
    }, (err: unknown) => this.fail(acks, err));
  }

  private build(group: Queued[], batch: WriteBatch, now: number, appended: EdgeEvent[], counts: { duplicates: number; rejected: number; staged: number }): void {
    const ops: SequencerOp[] = [];
    const g: GroupWrites = { batch, ids: [], segments: new Map() };
    this.writer.reset();
    for (const item of group) {
      if (item.kind === 'rejected') {
        putRejected(this.store, batch, item.record);
        counts.rejected++;
        continue;
      }
      if (item.kind === 'release') {
        this.sequencer.releaseDue(now, ops);
      } else {
        const draft = item.draft;
        if ((draft.explicitId && this.ids.seen(draft.id!, now)) || this.sequencer.offer(draft, now, ops) === 'duplicate') {
          counts.duplicates++;
          this.bus.emit('duplicate', { source: draft.source, id: draft.id });
          continue;
        }
      }
      for (const op of ops) {
        switch (op.op) {
          case 'append':
            appended.push(this.putEvent(g, op.draft));
            break;
          case 'notice':
            appended.push(this.putEvent(g, this.noticeDraft(op.notice, now)));
            break;
          case 'stage':
            batch.put(this.store.prefix.pending + pendingKey(op.draft.source, this.sequencer.state(op.draft.source).epoch, op.draft.deviceSeq!), encodeValue(op.draft));
            counts.staged++;
            break;
          case 'unstage':
            batch.del(this.store.prefix.pending + pendingKey(op.source, op.epoch, op.deviceSeq));
            break;
        }
      }
      ops.length = 0;
    }
    for (const [source, seg] of g.segments) {
      batch.put(this.store.prefix.streams + streamKey(source, seg.firstVersion), seg.seqs.join(' '));
    }
    for (const source of this.sequencer.takeDirty()) {
      batch.put(this.store.prefix.sources + source, encodeValue(this.sequencer.state(source)));
    }
    if (appended.length) {
      if (now > this.lastTimeMark) {
        batch.put(this.store.prefix.times + timeKey(now), seqKey(appended[0].seq));
        this.lastTimeMark = now;
      }
      this.ids.putGroup(batch, now, g.ids);
    }
  }

  /**
   * Gives the draft its log seq (and id) and writes it. The draft object becomes the
   * event: listeners get it without a copy per event; the writer puts only the
   * contract's fields on disk.
   */
  private putEvent(g: GroupWrites, d: EventDraft): EdgeEvent {
    const seq = ++this.lastSeq;
    const event = d as EventDraft & { seq: number };
    event.seq = seq;
    event.id ??= ulid(d.receivedAt);
    const start = this.writer.pos;
    this.writer.event(event as EdgeEvent);
    g.batch.put(this.store.prefix.log + seqKey(seq), this.writer.since(start));
    const version = this.sequencer.nextVersion(d.source, d.receivedAt);
    const seg = g.segments.get(d.source);
    if (seg) seg.seqs.push(seq);
    else g.segments.set(d.source, { firstVersion: version, seqs: [seq] });
    if (d.explicitId) {
      this.ids.put(g.batch, event.id, seq, d.receivedAt);
      g.ids.push(event.id);
    }
    return event as EdgeEvent;
  }

  private noticeDraft(notice: SystemNotice, now: number): EventDraft {
    return {
      id: null,
      type: 'SystemEvent',
      source: this.opts.gatewayId,
      timestamp: new Date(now).toISOString(),
      payload: { ...notice },
      metadata: defaultMetadata('normal'),
      deviceSeq: null,
      explicitId: false,
      receivedAt: now,
    };
  }

  private armReleaseTimer(): void {
    if (this.closed) return;
    const deadline = this.sequencer.nextDeadline();
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (deadline === null) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      if (this.queue.length === 0) this.queueSince = performance.now();
      this.queue.push({ kind: 'release' });
      this.acks.push(() => {});
      this.schedule();
    }, Math.max(0, deadline - this.now()));
  }

  /**
   * A write that failed leaves memory ahead of disk: nack the group, reopen the store
   * (see EventStore.reopen) and re-read the truth before the next group. Submissions
   * wait, unacknowledged, until that has worked; it is retried with backoff.
   */
  private fail(acks: Ack[], cause: unknown): void {
    const err = new StoreUnavailableError(cause);
    // What queued behind the failed group is refused too; init() re-arms the release timer.
    const waiting = this.acks;
    this.queue = [];
    this.acks = [];
    for (const ack of [...acks, ...waiting]) ack(err);
    this.ids.forgetRecent();
    this.bus.emit('storeError', err);
    void this.recover();
  }

  private async recover(): Promise<void> {
    this.recovering = true;
    for (let delay = 50; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.store.reopen();
        await this.init();
        break;
      } catch (reloadErr) {
        this.bus.emit('storeError', new StoreUnavailableError(reloadErr));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.recovering = false;
    this.bus.emit('storeRecovered', null);
    this.writing = false;
    this.flush();
  }

  private notifyIdle(): void {
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }
}
