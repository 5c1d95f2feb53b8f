// What the log records of the wall clock (README "Clocks"): a segment at every daemon
// start, step and change of quality, written in the same commit as the events it covers;
// a `clock-step` SystemEvent at every step; and each event's wall-clock times, stamped
// from the gateway clock and the current segment. The appender owns the writes; this
// module decides what they are.
import { isoTime } from '../events/iso-time.js';
import { systemEventDraft } from '../events/system-event.js';
import type { ClockQuality, EventDraft, EventMetadata } from '../events/types.js';
import { putSegment, readClockLog, writeSegment } from '../store/clock-log.js';
import type { EventStore } from '../store/event-store.js';
import type { LogBatch } from '../store/log-writer.js';
import { STEP_THRESHOLD_MS, type ClockChange, type GatewayClock } from '../time/clock.js';
import { continuesRun, Timeline, type ClockSegment } from '../time/timeline.js';

/** A publisher's own time this close to the gateway's is taken as the gateway's (no `receivedAt`). */
const RECEIVED_AT_TOLERANCE_MS = STEP_THRESHOLD_MS;

/** Frozen shared metadata (normalize's defaults) → the same with each clock quality. */
const withQuality = new WeakMap<EventMetadata, Partial<Record<ClockQuality, EventMetadata>>>();

function metadataWithClock(meta: EventMetadata, clock: ClockQuality): EventMetadata {
  if (!Object.isFrozen(meta)) {
    meta.clock = clock;
    return meta;
  }
  let variants = withQuality.get(meta);
  if (variants === undefined) withQuality.set(meta, (variants = {}));
  return (variants[clock] ??= Object.freeze({ ...meta, clock }));
}

export class ClockRecord {
  private timelineOf: Timeline | null;
  private opened = false;

  constructor(private readonly store: EventStore, readonly clock: GatewayClock, private readonly gatewayId: string, timeline: Timeline | null) {
    this.timelineOf = timeline;
  }

  /** Opened (init): before that, the segment init begins records the clock as it is then. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** The clock's segments over the log, the current one last (once opened). */
  get timeline(): Timeline {
    if (this.timelineOf === null) throw new Error('clock record not opened');
    return this.timelineOf;
  }

  /**
   * At the daemon's start, the segment of this run of the daemon begins at `fromSeq` (its
   * boot and boot clock let the next start carry the gateway clock on). After a failed
   * write, the segments are read back from the store, and one begins only if the clock
   * moved meanwhile. Resolves with a clock-step draft when the clock was stepped while the
   * daemon was down (within one boot), or while the store was being reopened.
   */
  async open(fromSeq: number, sync: boolean): Promise<EventDraft | null> {
    if (this.timelineOf === null) this.timelineOf = (await readClockLog(this.store)).timeline;
    else if (this.opened) this.timelineOf.reset((await readClockLog(this.store)).timeline.segments);
    const restart = !this.opened;
    this.opened = true;
    const prev = this.timeline.last;
    const clock = this.clock;
    if (!restart && prev !== null && prev.offset === clock.offset && prev.quality === clock.quality) return null;
    const g = clock.now();
    const moved = prev !== null && Math.abs(clock.offset - prev.offset) >= STEP_THRESHOLD_MS;
    const seg = this.begin(fromSeq, restart ? 'start' : moved ? 'step' : 'quality', g);
    await writeSegment(this.store, seg, sync);
    if (prev === null || !moved || !continuesRun(prev, seg)) return null;
    const from = g + prev.offset;
    const to = g + clock.offset;
    return this.stepDraft({ kind: 'step', at: g, from, to, delta: to - from, quality: clock.quality, previous: prev.quality }, fromSeq);
  }

  /**
   * A change seen while running (see time/watch.ts): its segment, begun at `fromSeq`, goes
   * into `batch`; a step also gives the SystemEvent that records it, to append at `fromSeq`.
   */
  changed(change: ClockChange, fromSeq: number, batch: LogBatch): EventDraft | null {
    putSegment(this.store, batch, this.begin(fromSeq, change.kind, change.at));
    return change.kind === 'step' ? this.stepDraft(change, fromSeq) : null;
  }

  private begin(fromSeq: number, cause: ClockSegment['cause'], g: number): ClockSegment {
    const { clock } = this;
    return this.timeline.add({ fromSeq, cause, boot: clock.boot, uptime: clock.uptimeAt(g), g, offset: clock.offset, quality: clock.quality });
  }

  /**
   * `clock-step`: the gateway-stamped timestamps of events fromSeq..toSeq (the clock's run
   * before the step) are off by `delta` ms; readers add it for corrected times. High
   * priority: after an outage it reaches upstream ahead of the backlog it corrects.
   */
  private stepDraft(change: ClockChange, fromSeq: number): EventDraft {
    const runStart = this.timeline.runStart(fromSeq);
    const before = runStart < fromSeq;
    return systemEventDraft(this.gatewayId, {
      kind: 'clock-step', from: isoTimeOrNull(change.from), to: isoTimeOrNull(change.to), delta: Math.round(change.delta),
      quality: change.quality, previousQuality: change.previous,
      fromSeq: before ? runStart : null, toSeq: before ? fromSeq - 1 : null,
    }, change.at, 'high');
  }

  /**
   * Times on the wall clock, from the gateway clock and the current segment: a timestamp
   * the gateway makes is written here (so a step between receipt and append cannot tear it
   * from its segment), a publisher's own time is kept with `metadata.receivedAt` beside it
   * when the two differ, and every event records the clock's quality.
   */
  stamp(d: EventDraft): void {
    const seg = this.timeline.last!;
    const wall = d.receivedAt + seg.offset;
    const own = d.publisherTime;
    if (own === null || own === undefined) {
      const ts = isoTime(wall);
      if (d.sensor !== undefined && d.sensor.timestamp === d.timestamp) d.sensor.timestamp = ts;
      d.timestamp = ts;
    } else if (Math.abs(own - wall) > RECEIVED_AT_TOLERANCE_MS) {
      d.metadata = { ...d.metadata, clock: seg.quality, receivedAt: isoTime(wall) };
      return;
    }
    d.metadata = metadataWithClock(d.metadata, seg.quality);
  }
}

function isoTimeOrNull(ms: number): string | null {
  return Number.isFinite(ms) && ms >= 0 && ms < 253_402_300_800_000 ? isoTime(ms) : null;
}
