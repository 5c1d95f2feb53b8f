// What the store keeps of the gateway clock: its segments over the log (the `clock`
// sublevel, keyed by first seq, written in the same commit as the events they cover) and
// the mark the daemon leaves at a clean stop. Read back at start to continue the clock and
// by every reader that shows corrected times.
import { bootId, uptimeMs } from '../time/boot.js';
import { startingPoint, type ClockMark } from '../time/start.js';
import { Timeline, type ClockSegment } from '../time/timeline.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, seqKey } from './keys.js';
import type { WriteBatch } from './write-batch.js';

const STOP_KEY = 'clock.stop';

export interface ClockLog {
  timeline: Timeline;
  /** The latest point the store knows on the gateway clock: a segment's start or the stop mark. */
  last: ClockMark | null;
  /** The highest gateway-clock time the store holds (receive marks, segments, the stop mark). */
  highest: number;
}

export async function readClockLog(store: EventStore): Promise<ClockLog> {
  const segments: ClockSegment[] = [];
  for await (const [key, value] of store.clock.iterator()) segments.push({ ...(JSON.parse(value) as Omit<ClockSegment, 'fromSeq'>), fromSeq: parseSeqKey(key) });
  const timeline = new Timeline(segments);
  const stopText = await store.meta.get(STOP_KEY);
  const stop = stopText === undefined ? null : (JSON.parse(stopText) as ClockMark);
  const seg = timeline.last;
  const fromSegment: ClockMark | null = seg === null ? null : { boot: seg.boot, uptime: seg.uptime, g: seg.g, wall: seg.g + seg.offset, quality: seg.quality };
  const last = stop !== null && (fromSegment === null || stop.g >= fromSegment.g) ? stop : fromSegment;
  const marks = await store.times.keys({ reverse: true, limit: 1 }).all();
  const highest = Math.max(marks.length ? parseSeqKey(marks[0]) : 0, last?.g ?? 0);
  return { timeline, last, highest };
}

export function putSegment(store: EventStore, batch: WriteBatch, seg: ClockSegment): void {
  const { fromSeq, ...rest } = seg;
  batch.put(store.clock.prefix + seqKey(fromSeq), JSON.stringify(rest));
}

/** A segment in a write of its own (the one a daemon start or a reopen begins). */
export async function writeSegment(store: EventStore, seg: ClockSegment, sync: boolean): Promise<void> {
  const batch = store.newWriteBatch();
  putSegment(store, batch, seg);
  await batch.write(sync);
}

export async function writeStopMark(store: EventStore, mark: ClockMark): Promise<void> {
  await store.meta.put(STOP_KEY, JSON.stringify(mark));
}

export async function deleteSegments(store: EventStore, segments: readonly ClockSegment[]): Promise<void> {
  if (segments.length === 0) return;
  await store.clock.batch(segments.map((s) => ({ type: 'del' as const, key: seqKey(s.fromSeq) })));
}

/** The gateway clock now, as a daemon starting on this store would read it (for tools). */
export function gatewayNowOf(log: ClockLog): number {
  return startingPoint({ last: log.last, highest: log.highest, boot: bootId(), uptime: uptimeMs(), wall: Date.now(), synced: false }).g;
}
