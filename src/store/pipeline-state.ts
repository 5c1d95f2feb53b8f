// What the appender reads back at start and after a failed write: the records the log
// writer (log-writer.ts) keeps beside the events so the pipeline can go on where it
// stopped — each source's sequencing state, the drafts waiting in the reorder buffer, and
// the last receive-time mark.
import { decodeValue } from '../events/codec.js';
import type { EventDraft } from '../events/types.js';
import type { EventStore } from './event-store.js';

/** A source's sequencing state, as the sequencer keeps it and the `sources` sublevel holds it. */
export interface SourceState {
  epoch: number;
  /** The next device seq expected in this epoch; null until a sequenced event was seen. */
  next: number | null;
  /** Events appended for this source: its stream version. */
  version: number;
  /** Receive time of the source's last event, epoch ms. */
  lastSeenAt: number;
  /** Gaps released without their events: a late arrival inside one is still appended. */
  gaps: [number, number][];
  /**
   * `sequence-gap` and `sequence-reset` SystemEvents recorded for this source, counted in
   * the commit that appends them (the streams listing reads them, never the log). Absent
   * in states a release before streams wrote: read as 0 (see stream-counters.ts).
   */
  gapsRecorded?: number;
  resetsRecorded?: number;
}

/** The newest receive-time mark (gateway clock), -1 when the log has none. */
export async function lastTimeMark(store: EventStore): Promise<number> {
  const marks = await store.times.keys({ reverse: true, limit: 1 }).all();
  return marks.length ? Number(marks[0]) : -1;
}

export async function readSourceStates(store: EventStore): Promise<[string, SourceState][]> {
  const states: [string, SourceState][] = [];
  for await (const [source, bytes] of store.sources.iterator()) states.push([source, decodeValue<SourceState>(bytes)]);
  return states;
}

/** The drafts staged in the reorder buffer, waiting for their predecessors. */
export async function readStagedDrafts(store: EventStore): Promise<EventDraft[]> {
  const staged: EventDraft[] = [];
  for await (const bytes of store.pending.values()) staged.push(decodeValue<EventDraft>(bytes));
  return staged;
}
