// How one submission goes into the commit group being built, synchronously: the id's
// duplicate check, the sequencer's decisions (append, stage, unstage, release with a
// notice), and for each event appended its seq, stream version, id, clock stamp and wire
// encoding, put into the group's batch with its records. The appender decides which group
// and when it is written; this fills it. It runs for every event: one reused encoder and
// one reused list of decisions, nothing allocated per event but the event.
import { CborWriter } from '../events/cbor-writer.js';
import type { EdgeEvent, EventDraft } from '../events/types.js';
import { systemEventDraft } from '../events/system-event.js';
import { ulidGenerator } from '../events/ulid.js';
import type { LogWriter } from '../store/log-writer.js';
import type { EventBus } from './bus.js';
import type { ClockRecord } from './clock-record.js';
import type { CommitGroup } from './commit-group.js';
import type { Sequencer, SequencerOp, SystemNotice } from './sequencer.js';

/** Gateway-made event ids, from the gateway clock. */
const ulid = ulidGenerator();

export class GroupFiller {
  /** The last seq handed out; the group holding it may still be on its way to disk. */
  lastSeq = 0;
  private readonly writer = new CborWriter();
  /** Scratch list of the sequencer's decisions for one submission. */
  private readonly ops: SequencerOp[] = [];

  constructor(
    private readonly log: LogWriter,
    private readonly sequencer: Sequencer,
    private readonly clockRecord: ClockRecord,
    private readonly bus: EventBus,
    private readonly gatewayId: string,
  ) {}

  addEvent(group: CommitGroup, draft: EventDraft, now: number): void {
    if (draft.explicitId && this.log.seenId(draft.id!, now, draft.idForLife === true)) return this.duplicate(group, draft);
    const ops = this.ops;
    ops.length = 0;
    if (this.sequencer.offer(draft, now, ops) === 'duplicate') return this.duplicate(group, draft);
    this.apply(group, ops, now);
  }

  private duplicate(group: CommitGroup, draft: EventDraft): void {
    group.duplicates++;
    this.bus.emit('duplicate', { source: draft.source, id: draft.id });
  }

  apply(group: CommitGroup, ops: readonly SequencerOp[], now: number): void {
    for (const op of ops) {
      switch (op.op) {
        case 'append':
          this.putEvent(group, op.draft);
          break;
        case 'notice':
          this.putEvent(group, this.noticeDraft(op.notice, now));
          break;
        case 'stage':
          this.log.stage(group.batch, op.draft, this.sequencer.state(op.draft.source).epoch);
          group.staged++;
          break;
        case 'unstage':
          this.log.unstage(group.batch, op.source, op.epoch, op.deviceSeq);
          break;
      }
    }
  }

  /**
   * Gives the draft its log seq (and id) and writes it. The draft object becomes the
   * event: listeners get it without a copy per event; the writer puts only the
   * contract's fields on disk.
   */
  putEvent(group: CommitGroup, d: EventDraft): void {
    const seq = ++this.lastSeq;
    const event = d as EventDraft & { seq: number; version: number };
    event.seq = seq;
    // Its place in its source's stream, in the stored bytes: forwarded as they are.
    event.version = this.sequencer.nextVersion(d.source, d.receivedAt);
    // Gateway-made ids carry the gateway clock: they sort in log order whatever the wall clock does.
    event.id ??= ulid(d.receivedAt);
    this.clockRecord.stamp(d);
    // The batch copies the bytes at put: the writer's buffer is reused from the start.
    this.writer.reset();
    this.writer.event(event as EdgeEvent);
    this.log.putEvent(group.batch, seq, this.writer.since(0), d.metadata.priority, d.metadata.correlationId, d.delivery);
    group.addToSegment(d.source, event.version, seq);
    if (d.explicitId) {
      this.log.putId(group.batch, event.id, seq, d.receivedAt);
      group.ids.push(event.id);
      group.lastIdSeq = seq;
    }
    group.appended.push(event as EdgeEvent);
  }

  private noticeDraft(notice: SystemNotice, now: number): EventDraft {
    return systemEventDraft(this.gatewayId, { ...notice }, now);
  }
}
