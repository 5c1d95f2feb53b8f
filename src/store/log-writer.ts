// The appender's writes, in the store's layout: an event and its urgent mark, a draft
// staged in the reorder buffer, and what a commit group records as a whole (stream
// segments, source states, the receive-time mark, the id group). The appender decides what
// goes into which group; this module knows the keys. It runs for every event, so the
// prefixes are cached here, each record builds its key once, and everything goes into the
// group's raw write batch (write-batch.ts).
import { encodeValue } from '../events/codec.js';
import type { EdgeEvent, EventDraft, LocalDelivery, Priority } from '../events/types.js';
import { CorrelationIndex } from './correlation-index.js';
import { DeviceStates } from './device-state.js';
import type { EventStore } from './event-store.js';
import { IdIndex } from './id-index.js';
import { putDelivery } from './outbox.js';
import { pendingKey, seqKey, streamKey, timeKey } from './keys.js';
import { lastTimeMark, readSourceStates, readStagedDrafts, type SourceState } from './pipeline-state.js';
import type { WriteBatch } from './write-batch.js';

/**
 * A commit group's batch. Its keys carry their sublevel's prefix, which only the store
 * knows: outside src/store a batch is filled through LogWriter (and the store's other
 * batch writers), and only counted, written and cleared.
 */
export type LogBatch = WriteBatch;

/** The seqs one commit appends to one source's stream, from this stream version on. */
export interface StreamSegment {
  readonly firstVersion: number;
  readonly seqs: readonly number[];
}

/** What sealGroup records of a commit group. */
export interface GroupRecord {
  /** Per source: the stream segment the group appends. */
  readonly segments: ReadonlyMap<string, StreamSegment>;
  /** Its events in log order: the device-state projection folds them at seal time. */
  readonly appended: readonly EdgeEvent[];
  /** Publisher ids the group recorded, and the seq of its last event that had one. */
  readonly ids: readonly string[];
  readonly lastIdSeq: number;
}

/** The sequencer's states, read at seal time: the dirty sources' states are written as they are then. */
export interface SourceStates {
  state(source: string): SourceState;
}

/** What recovery reads back for the sequencer. */
export interface RecoveredState {
  states: [string, SourceState][];
  staged: EventDraft[];
}

export class LogWriter {
  /** The publisher-id index (dedup, reads from an id); the prune job reaches it here too. */
  readonly idIndex: IdIndex;
  private readonly correlations: CorrelationIndex;
  private readonly logPrefix: string;
  private readonly urgentPrefix: string;
  private readonly pendingPrefix: string;
  private readonly streamsPrefix: string;
  private readonly sourcesPrefix: string;
  private readonly timesPrefix: string;
  private readonly outboxPrefix: string;
  private readonly devicesPrefix: string;
  /** The device-state projection as the groups sealed so far leave it (see device-state.ts). */
  private readonly devices = new DeviceStates();
  private readonly putDevice: (key: string, value: string) => void;
  private readonly delDevice: (key: string) => void;
  private sealing: LogBatch | null = null;
  private lastMark = -1;

  constructor(private readonly store: EventStore, dedupWindow: number) {
    this.idIndex = new IdIndex(store, dedupWindow);
    this.correlations = CorrelationIndex.forStore(store);
    this.logPrefix = store.log.prefix;
    this.urgentPrefix = store.urgent.prefix;
    this.pendingPrefix = store.pending.prefix;
    this.streamsPrefix = store.streams.prefix;
    this.sourcesPrefix = store.sources.prefix;
    this.timesPrefix = store.times.prefix;
    this.outboxPrefix = store.outbox.prefix;
    this.devicesPrefix = store.devices.prefix;
    // Bound once: the projection writes into the batch being sealed without a closure per group.
    this.putDevice = (key, value) => this.sealing!.put(key, value);
    this.delDevice = (key) => this.sealing!.del(key);
  }

  /** A reusable batch for commit groups (see write-batch.ts). */
  newBatch(): LogBatch {
    return this.store.newWriteBatch();
  }

  /**
   * Reads back what the writer and the sequencer left: the last receive-time mark (kept
   * here), the source states and the staged drafts (for the sequencer).
   */
  async recover(): Promise<RecoveredState> {
    // A Pi has no RTC: after a restart its clock may be behind the last mark, and a mark
    // must never point at a later seq than one written before it.
    this.lastMark = await lastTimeMark(this.store);
    // After a failed write the projection in memory may be ahead of the disk's.
    await this.devices.load(this.store);
    return { states: await readSourceStates(this.store), staged: await readStagedDrafts(this.store) };
  }

  /**
   * An event's CBOR bytes under its seq; high and critical events are indexed as urgent
   * too, an event with a correlation id under its chain, and a Command to publish in the
   * outbox (in the same batch, so an event is never durable without its entries).
   */
  putEvent(batch: LogBatch, seq: number, bytes: Uint8Array, priority: Priority, correlationId: string | null, delivery?: LocalDelivery): void {
    const key = seqKey(seq);
    batch.put(this.logPrefix + key, bytes);
    if (priority === 'high' || priority === 'critical') batch.put(this.urgentPrefix + key, '');
    // An empty id names no chain a reader could ask for.
    if (correlationId) this.correlations.put(batch, correlationId, key);
    if (delivery) putDelivery(batch, this.outboxPrefix, key, delivery);
  }

  /** A sequenced draft waits in the reorder buffer for its predecessors. */
  stage(batch: LogBatch, draft: EventDraft, epoch: number): void {
    batch.put(this.pendingPrefix + pendingKey(draft.source, epoch, draft.deviceSeq!), encodeValue(draft));
  }

  /** A staged draft left the reorder buffer (appended, or a duplicate). */
  unstage(batch: LogBatch, source: string, epoch: number, deviceSeq: number): void {
    batch.del(this.pendingPrefix + pendingKey(source, epoch, deviceSeq));
  }

  /** True if `id` was appended within the dedup window (before `now`), or at all while its event is in the log (`forLife`). */
  seenId(id: string, now: number, forLife: boolean): boolean {
    return this.idIndex.seen(id, now, forLife);
  }

  /** Records a publisher's id of an appended event. */
  putId(batch: LogBatch, id: string, seq: number, receivedAt: number): void {
    this.idIndex.put(batch, id, seq, receivedAt);
  }

  /** After a failed write the ids recorded lately may never have become durable. */
  forgetRecentIds(): void {
    this.idIndex.forgetRecent();
  }

  /**
   * The writes that belong to the group as a whole: its stream segments, the states of the
   * sources it changed, the receive-time mark of its first event (at `now`, gateway clock),
   * its id group, and the device-state entry of each device its events changed (one put
   * per device per group, from memory: no read).
   */
  sealGroup(batch: LogBatch, group: GroupRecord, dirty: readonly string[], states: SourceStates, now: number): void {
    for (const [source, seg] of group.segments) {
      batch.put(this.streamsPrefix + streamKey(source, seg.firstVersion), seg.seqs.join(' '));
    }
    for (const source of dirty) {
      batch.put(this.sourcesPrefix + source, encodeValue(states.state(source)));
    }
    // Devices forgotten by the prune job go with the next group, whatever it holds.
    const devices = this.devices;
    for (let i = 0; i < group.appended.length; i++) devices.apply(group.appended[i]);
    this.sealing = batch;
    devices.writeChanged(this.putDevice, this.delDevice, this.devicesPrefix);
    this.sealing = null;
    if (group.appended.length === 0) return;
    if (now > this.lastMark) {
      batch.put(this.timesPrefix + timeKey(now), seqKey(group.appended[0].seq));
      this.lastMark = now;
    }
    this.idIndex.putGroup(batch, group.lastIdSeq, group.ids);
  }

  /**
   * Forgets the devices none of whose events the log holds any more (every seq below
   * `firstSeq` is gone): their entries are deleted with the next group sealed. Returns their ids.
   */
  forgetDevicesBefore(firstSeq: number): string[] {
    return this.devices.forgetBefore(firstSeq);
  }
}
