// The only way into the log. Submissions are grouped: everything that arrives while one
// LevelDB write is in flight goes into the next, as one atomic batch (events, stream
// segments, publisher ids, source states, device states, staged drafts, rejected payloads). Each
// submission's callback — the PUBACK, for MQTT — runs only after that batch is durable.
//
// The next group is built as its submissions arrive (deduplicated, sequenced, encoded,
// put into its native batch: group-filler.ts) while the previous one is being written: the main thread
// and LevelDB's writer work at the same time, and a write starts the moment the last
// one ends. Two native batches take turns.
import { performance } from 'node:perf_hooks';
import type { EventDraft } from '../events/types.js';
import { GatewayClock, type ClockChange } from '../time/clock.js';
import type { Timeline } from '../time/timeline.js';
import { ClockRecord } from './clock-record.js';
import { Backoff, type BackoffPolicy } from '../util/backoff.js';
import type { EventStore } from '../store/event-store.js';
import type { Ack } from './ack.js';
import { CommitGroup } from './commit-group.js';
import { putRejected, type RejectedRecord } from '../store/rejected.js';
import type { EventBus } from './bus.js';
import type { IdIndex } from '../store/id-index.js';
import { LogWriter, type LogBatch } from '../store/log-writer.js';
import { GroupFiller } from './group-filler.js';
import { Sequencer, type SequencerOp } from './sequencer.js';

export type { Ack };

export type Submission =
  | { kind: 'event'; draft: EventDraft }
  | { kind: 'rejected'; record: RejectedRecord };

export interface AppenderOptions {
  store: EventStore;
  bus: EventBus;
  gatewayId: string;
  durability: 'fsync' | 'write';
  reorderWindow: number;
  dedupWindow: number;
  /** The gateway clock; default: the wall clock, never stepped (tests). */
  clock?: GatewayClock;
  /** The clock's segments as the store holds them; default: read from the store at init. */
  timeline?: Timeline;
  /** With no `clock`: the clock's readings (tests). */
  now?: () => number;
  /**
   * Brackets the acknowledgement of a whole group: the broker corks its sockets so the
   * PUBACKs a group releases leave as one write per connection, not one each.
   */
  settling?: { begin(): void; end(): void };
  /** A monotonic millisecond counter for the write and ack timings; default performance.now (tests step their own). */
  monotonic?: () => number;
}

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`event store write failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Reopening the store after a failed write: soon, then every few seconds while the disk is full. */
const REOPEN_BACKOFF: BackoffPolicy = { initialDelay: 50, maxDelay: 5_000, multiplier: 2, jitter: false };

export class Appender {
  private readonly store: EventStore;
  private readonly bus: EventBus;
  private readonly sequencer: Sequencer;
  private readonly log: LogWriter;
  private readonly now: () => number;
  private readonly clockRecord: ClockRecord;
  /** Puts each submission into the group being built: seq, id, encoding, records. */
  private readonly filler: GroupFiller;
  /** The two native batches that take turns: one being written, one being built. */
  private readonly spare: LogBatch[];
  private current: CommitGroup;
  private writing = false;
  private scheduled = false;
  private closed = false;
  private recovering = false;
  private durableSeq = 0;
  private releaseTimer: NodeJS.Timeout | null = null;
  private idle: (() => void)[] = [];
  private readonly monotonic: () => number;

  constructor(private readonly opts: AppenderOptions) {
    this.store = opts.store;
    this.bus = opts.bus;
    const clock = opts.clock ?? GatewayClock.fixed(opts.now);
    this.clockRecord = new ClockRecord(opts.store, clock, opts.gatewayId, opts.timeline ?? null);
    this.now = () => clock.now();
    this.sequencer = new Sequencer({ reorderWindow: opts.reorderWindow, dedupWindow: opts.dedupWindow });
    this.log = new LogWriter(opts.store, opts.dedupWindow);
    this.filler = new GroupFiller(this.log, this.sequencer, this.clockRecord, opts.bus, opts.gatewayId);
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.spare = [this.log.newBatch()];
    this.current = this.newGroup(this.log.newBatch());
  }

  /** The last seq handed out; the group holding it may still be on its way to disk. */
  get seq(): number {
    return this.filler.lastSeq;
  }

  /** The last seq that is durable in the log: what readers of the log can see. */
  get committedSeq(): number {
    return this.durableSeq;
  }

  get idIndex(): IdIndex {
    return this.log.idIndex;
  }

  /** The gateway clock. */
  get clock(): GatewayClock {
    return this.clockRecord.clock;
  }

  /** The clock's segments over the log, the current one last (after init). */
  get timeline(): Timeline {
    return this.clockRecord.timeline;
  }

  stagedCount(): number {
    return this.sequencer.stagedCount();
  }

  /** Reads the durable state back: last seq, source states, drafts waiting for predecessors. */
  async init(): Promise<void> {
    this.filler.lastSeq = this.durableSeq = await this.store.lastSeq();
    const { states, staged } = await this.log.recover();
    const deadline = this.now() + this.opts.reorderWindow;
    this.sequencer.load(states, staged.map((draft) => ({ draft, deadline })));
    const stepped = await this.clockRecord.open(this.filler.lastSeq + 1, this.opts.durability === 'fsync');
    this.armReleaseTimer();
    if (stepped !== null) {
      // Into the group being built directly: during a recovery, submissions are refused.
      this.filler.putEvent(this.current, stepped);
      this.current.join(() => {});
      this.schedule();
    }
  }

  /**
   * The clock stepped, or its quality changed (see ClockWatch): a segment begins with the
   * next seq, in the group being built, and a step is recorded as a SystemEvent in it.
   */
  clockChanged(change: ClockChange): void {
    // Before init, and while the store is reopened, the change is not recorded here: init() records it.
    if (this.closed || this.recovering || !this.clockRecord.isOpen) return;
    const notice = this.clockRecord.changed(change, this.filler.lastSeq + 1, this.current.batch);
    if (notice !== null) this.filler.putEvent(this.current, notice);
    this.current.join(() => {});
    this.schedule();
  }

  submit(item: Submission, ack: Ack): void {
    if (item.kind === 'event') this.submitEvent(item.draft, ack);
    else this.submitRejected(item.record, ack);
  }

  submitEvent(draft: EventDraft, ack: Ack): void {
    if (this.refuse(ack)) return;
    try {
      this.filler.addEvent(this.current, draft, this.now());
    } catch (err) {
      // A bug, not bad input (normalize has vetted it). The group may hold part of this
      // event and seqs were handed out: refuse the whole group and re-read the state, so
      // the log stays gap-free.
      ack(new StoreUnavailableError(err));
      this.discardCurrent(err);
      return;
    }
    this.current.join(ack);
    this.schedule();
  }

  submitRejected(record: RejectedRecord, ack: Ack): void {
    if (this.refuse(ack)) return;
    putRejected(this.store, this.current.batch, record);
    this.current.rejected.push(record);
    this.current.join(ack);
    this.schedule();
  }

  /**
   * A publish known to be a redelivery of one already submitted: acknowledged with the
   * group being built, so never before the original is durable (the original is in that
   * group or in the one being written). Counted as a duplicate.
   */
  submitDuplicate(source: string, ack: Ack): void {
    if (this.refuse(ack)) return;
    this.current.duplicates++;
    this.current.join(ack);
    this.bus.emit('duplicate', { source, id: null });
    this.schedule();
  }

  private refuse(ack: Ack): boolean {
    if (!this.closed && !this.recovering) return false;
    // Refuse at once rather than hold the publisher: it will send again later.
    ack(new StoreUnavailableError(new Error(this.closed ? 'store is closing' : 'store is being reopened after a failed write')));
    return true;
  }

  /**
   * Appends a gateway-made event (system events, alerts, commands) through the same path.
   * Resolves true once it is durable, false when its id was a duplicate and nothing was stored.
   */
  append(draft: EventDraft): Promise<boolean> {
    return new Promise((resolve, reject) => this.submit({ kind: 'event', draft }, (err) => {
      if (err) reject(err);
      // putEvent gives the draft its seq: a duplicate never gets one.
      else resolve((draft as { seq?: number }).seq !== undefined);
    }));
  }

  /**
   * Retention took every event of some devices (the log's first seq is now `firstSeq`):
   * their device-state entries are deleted with the group being built. Returns their ids.
   */
  forgetDevicesBefore(firstSeq: number): string[] {
    if (this.closed || this.recovering) return [];
    const gone = this.log.forgetDevicesBefore(firstSeq);
    if (gone.length) {
      this.current.join(() => {});
      this.schedule();
    }
    return gone;
  }

  /** Waits until everything submitted so far is durable; then refuses new submissions. */
  async close(): Promise<void> {
    // The write in flight re-arms the release timer when it completes: clear it after.
    await this.flushed();
    this.closed = true;
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
  }

  /** Resolves once nothing is waiting to be written and no write is in flight. */
  flushed(): Promise<void> {
    if (!this.writing && !this.scheduled && this.current.empty) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private newGroup(batch: LogBatch): CommitGroup {
    return new CommitGroup(batch, this.monotonic);
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
    if (this.writing) return;
    const group = this.current;
    if (group.empty) {
      this.notifyIdle();
      return;
    }
    this.current = this.newGroup(this.spare.pop()!);
    this.writing = true;
    this.log.sealGroup(group.batch, group, this.sequencer.takeDirty(), this.sequencer, this.now());
    const sealedSeq = this.filler.lastSeq;
    const writeStart = this.monotonic();
    group.batch.write(this.opts.durability === 'fsync').then(() => {
      const done = this.monotonic();
      this.durableSeq = sealedSeq;
      this.spare.push(group.batch);
      this.writing = false;
      this.settle(group, null);
      this.bus.emit('committed', {
        events: group.appended.length,
        duplicates: group.duplicates,
        rejected: group.rejected.length,
        staged: group.staged,
        submissions: group.acks,
        writeSeconds: (done - writeStart) / 1e3,
        // A group can hold writes of the appender's own and no submission (none today): no wait.
        ackSeconds: group.acks > 0 ? (done - group.since) / 1e3 : 0,
      });
      if (group.appended.length) this.bus.emit('appended', group.appended);
      for (const record of group.rejected) this.bus.emit('rejected', record);
      this.armReleaseTimer();
      this.flush();
    }, (err: unknown) => {
      this.spare.push(group.batch);
      this.fail(group, err);
    });
  }

  private settle(group: CommitGroup, err: Error | null): void {
    const bracket = this.opts.settling;
    bracket?.begin();
    try {
      group.settle(err);
    } finally {
      bracket?.end();
    }
  }

  private armReleaseTimer(): void {
    if (this.closed) return;
    const deadline = this.sequencer.nextDeadline();
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (deadline === null) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      if (this.closed || this.recovering) return;
      const now = this.now();
      const ops: SequencerOp[] = [];
      this.sequencer.releaseDue(now, ops);
      this.filler.apply(this.current, ops, now);
      this.current.join(() => {});
      this.schedule();
    }, Math.max(0, deadline - this.now()));
  }

  /**
   * A write that failed leaves memory ahead of disk: refuse its group and the one built
   * behind it (its seqs followed the failed ones), reopen the store (see
   * EventStore.reopen) and re-read the truth. New submissions are refused until then.
   */
  private fail(group: CommitGroup, cause: unknown): void {
    const err = new StoreUnavailableError(cause);
    const behind = this.current;
    behind.batch.clear();
    this.current = this.newGroup(behind.batch);
    this.settle(group, err);
    this.settle(behind, err);
    this.log.forgetRecentIds();
    this.bus.emit('storeError', err);
    void this.recover();
  }

  private discardCurrent(cause: unknown): void {
    const group = this.current;
    group.batch.clear();
    this.current = this.newGroup(group.batch);
    const err = new StoreUnavailableError(cause);
    this.settle(group, err);
    this.log.forgetRecentIds();
    this.bus.emit('storeError', err);
    this.recovering = true;
    // The write in flight (if any) is below the discarded seqs: let it finish, then reload.
    void this.flushed().then(() => this.init()).then(() => {
      this.recovering = false;
      this.bus.emit('storeRecovered', null);
    }, () => this.recover());
  }

  private async recover(): Promise<void> {
    this.recovering = true;
    const backoff = new Backoff(REOPEN_BACKOFF);
    for (;;) {
      try {
        await this.store.reopen();
        await this.init();
        // LevelDB deletes its obsolete files on open, so a reopen can succeed on a disk that
        // is still full; the next group would fail again, and /healthz flap with every one.
        await this.store.probeWrite();
        break;
      } catch (reloadErr) {
        this.bus.emit('storeError', new StoreUnavailableError(reloadErr));
        await new Promise((r) => setTimeout(r, backoff.next()));
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
