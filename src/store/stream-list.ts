// `edgebus streams` and `GET /api/streams`: one row per source, from its state (epoch,
// last seen, the gap and reset counters kept at append) and the two ends of its stream as
// the store still holds them. A source's events are never read: only the segments at the
// ends of its stream, and the log entries those name, to skip what retention or eviction
// has deleted.
import { isoTime } from '../events/iso-time.js';
import type { Timeline } from '../time/timeline.js';
import type { EventStore } from './event-store.js';
import { SEP, SEP_END, seqKey } from './keys.js';
import { readSourceStates } from './pipeline-state.js';
import { segmentOf, type Segment } from './stream-versions.js';

export interface StreamSummary {
  source: string;
  /** The source's current epoch: how many times its device counter restarted (or expired). */
  epoch: number;
  /** The first and last of its events the log still holds (null: none). */
  firstSeq: number | null;
  lastSeq: number | null;
  /** Their stream versions (`events --source S --from-version N`). */
  firstVersion: number | null;
  lastVersion: number | null;
  /** Stream versions from the first held to the last: the events held. */
  count: number;
  /** When its last event was received (wall time, ISO); null if never. */
  lastSeen: string | null;
  /** `sequence-gap` and `sequence-reset` SystemEvents recorded for it. */
  gaps: number;
  resets: number;
}

interface Held {
  seq: number;
  version: number;
}

/** Every source the sequencer has a state for, in source order. */
export async function listStreams(store: EventStore, timeline: Timeline): Promise<StreamSummary[]> {
  const rows: StreamSummary[] = [];
  for (const [source, st] of await readSourceStates(store)) {
    const first = await heldEnd(store, source, 'first');
    const last = first === null ? null : await heldEnd(store, source, 'last');
    rows.push({
      source,
      epoch: st.epoch,
      firstSeq: first?.seq ?? null,
      lastSeq: last?.seq ?? null,
      firstVersion: first?.version ?? null,
      lastVersion: last?.version ?? null,
      count: first !== null && last !== null ? last.version - first.version + 1 : 0,
      lastSeen: st.lastSeenAt > 0 ? isoTime(timeline.wallOf(st.lastSeenAt)) : null,
      gaps: st.gapsRecorded ?? 0,
      resets: st.resetsRecorded ?? 0,
    });
  }
  return rows;
}

/**
 * The first (or last) event of the source's stream that the log holds. Retention leaves a
 * segment half pruned and eviction can leave holes, so the segment's seqs are checked
 * against the log, segment after segment until one is held.
 */
async function heldEnd(store: EventStore, source: string, which: 'first' | 'last'): Promise<Held | null> {
  const it = store.streams.iterator({ gte: source + SEP, lt: source + SEP_END, reverse: which === 'last' });
  try {
    for (let entries = await it.nextv(16); entries.length; entries = await it.nextv(16)) {
      for (const [key, value] of entries) {
        const held = await heldIn(store, segmentOf(key, value), which);
        if (held !== null) return held;
      }
    }
    return null;
  } finally {
    await it.close();
  }
}

async function heldIn(store: EventStore, seg: Segment, which: 'first' | 'last'): Promise<Held | null> {
  const held = await store.log.hasMany(seg.seqs.map(seqKey));
  const n = seg.seqs.length;
  for (let k = 0; k < n; k++) {
    const i = which === 'first' ? k : n - 1 - k;
    if (held[i]) return { seq: seg.seqs[i], version: seg.firstVersion + i };
  }
  return null;
}
