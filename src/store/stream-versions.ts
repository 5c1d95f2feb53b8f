// Stream versions of events stored before the appender wrote them. The `streams` sublevel
// knows every event's version (segments: source NUL first version → the seqs one commit
// appended), so a reader fills the field from there. Readers go in seq order, so each
// source keeps a cursor on the segment its last event was in: the next event of that
// source is almost always in the same segment or the one after. Only a jump (the first
// event of a source, a read that starts mid-stream) searches, by halving the versions,
// so no stream is ever read whole or held in memory.
import type { EdgeEvent } from '../events/types.js';
import type { EventStore } from './event-store.js';
import { SEP, SEP_END, streamKey } from './keys.js';

/** One stored segment of a source's stream. */
export interface Segment {
  readonly key: string;
  readonly firstVersion: number;
  /** In version order, which is seq order. */
  readonly seqs: readonly number[];
}

export function segmentOf(key: string, value: string): Segment {
  return { key, firstVersion: Number(key.slice(key.lastIndexOf(SEP) + 1)), seqs: value.split(' ').map(Number) };
}

const lastSeq = (s: Segment): number => s.seqs[s.seqs.length - 1];

/** The segment holding `version` of `source` (the last one starting at or before it), or null. */
async function segmentHolding(store: EventStore, source: string, version: number): Promise<Segment | null> {
  const found = await store.streams.iterator({ gte: source + SEP, lte: streamKey(source, version), reverse: true, limit: 1 }).all();
  return found.length ? segmentOf(found[0][0], found[0][1]) : null;
}

/** The source's first or last stored segment. */
export async function edgeSegment(store: EventStore, source: string, which: 'first' | 'last'): Promise<Segment | null> {
  const found = await store.streams.iterator({ gte: source + SEP, lt: source + SEP_END, reverse: which === 'last', limit: 1 }).all();
  return found.length ? segmentOf(found[0][0], found[0][1]) : null;
}

/** The segment right after `seg` in its source's stream, or null. */
async function segmentAfter(store: EventStore, source: string, seg: Segment): Promise<Segment | null> {
  const found = await store.streams.iterator({ gt: seg.key, lt: source + SEP_END, limit: 1 }).all();
  return found.length ? segmentOf(found[0][0], found[0][1]) : null;
}

/** The segment that would hold `seq` (the last whose first seq is at or before it), found by halving versions. */
export async function segmentForSeq(store: EventStore, source: string, seq: number): Promise<Segment | null> {
  const first = await edgeSegment(store, source, 'first');
  const last = await edgeSegment(store, source, 'last');
  if (first === null || last === null || first.seqs[0] > seq) return null;
  let best = first;
  let lo = first.firstVersion + first.seqs.length;
  let hi = last.firstVersion + last.seqs.length - 1;
  while (lo <= hi) {
    const seg = await segmentHolding(store, source, Math.floor((lo + hi) / 2));
    if (seg === null) break;
    if (seg.seqs[0] <= seq) {
      best = seg;
      lo = seg.firstVersion + seg.seqs.length;
    } else hi = seg.firstVersion - 1;
  }
  return best;
}

/** The version of `seq` in `seg`, or null when the segment does not hold it. */
function versionIn(seg: Segment, seq: number): number | null {
  const i = seg.seqs.indexOf(seq);
  return i < 0 ? null : seg.firstVersion + i;
}

/**
 * Fills `version` on events that lack it, for one read. Events that carry it pass
 * untouched (every event the appender wrote since streams were recorded in it).
 */
export class StreamVersionFill {
  private readonly cursors = new Map<string, Segment>();

  constructor(private readonly store: EventStore) {}

  /** The event with its version: itself when it has one, else a copy with it (in the stored field order). */
  async fill<E extends EdgeEvent>(e: E): Promise<E> {
    if (e.version !== undefined) return e;
    const version = await this.versionOf(e.source, e.seq);
    if (version === null) return e;
    const { id, type, source, timestamp, seq, ...rest } = e;
    return { id, type, source, timestamp, seq, version, ...rest } as E;
  }

  /** The stream version of the event at `seq` of `source`; null when its stream does not name it. */
  async versionOf(source: string, seq: number): Promise<number | null> {
    let seg = this.cursors.get(source) ?? null;
    if (seg !== null && seq > lastSeq(seg)) {
      // Reading forward: the next segment, most of the time.
      const next = await segmentAfter(this.store, source, seg);
      seg = next !== null && next.seqs[0] <= seq && seq <= lastSeq(next) ? next : null;
    } else if (seg !== null && seq < seg.seqs[0]) seg = null;
    seg ??= await segmentForSeq(this.store, source, seq);
    if (seg === null) return null;
    this.cursors.set(source, seg);
    return versionIn(seg, seq);
  }
}
