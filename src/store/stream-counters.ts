// The per-source counters of recorded gaps and resets (SourceState.gapsRecorded,
// resetsRecorded) for a store written before they were kept: counted from the
// `sequence-gap` and `sequence-reset` SystemEvents the log still holds. Meant for the store
// migration that brings such a store up to date (one pass over the log, at open).
import { decodeValue, encodeValue } from '../events/codec.js';
import type { EdgeEvent } from '../events/types.js';
import type { Batch, EventStore } from './event-store.js';
import { readSourceStates, type SourceState } from './pipeline-state.js';
import { mayBeOfType, typeNeedle } from './type-prefilter.js';

export interface NoticeCounts {
  gaps: number;
  resets: number;
}

const CHUNK = 1_000;

/** Per source named by a notice: the gap and reset SystemEvents the log holds. */
export async function countSequenceNotices(store: EventStore): Promise<Map<string, NoticeCounts>> {
  const counts = new Map<string, NoticeCounts>();
  const needle = typeNeedle('SystemEvent');
  const it = store.log.values();
  try {
    for (let values = await it.nextv(CHUNK); values.length; values = await it.nextv(CHUNK)) {
      for (const bytes of values) {
        if (!mayBeOfType(bytes, needle)) continue;
        const e = decodeValue<EdgeEvent>(bytes);
        const { kind, source } = e.payload ?? {};
        if (e.type !== 'SystemEvent' || typeof source !== 'string' || (kind !== 'sequence-gap' && kind !== 'sequence-reset')) continue;
        let c = counts.get(source);
        if (c === undefined) counts.set(source, (c = { gaps: 0, resets: 0 }));
        if (kind === 'sequence-gap') c.gaps++;
        else c.resets++;
      }
    }
  } finally {
    await it.close();
  }
  return counts;
}

/**
 * Puts into `batch` (from `store.batch()`) every source state whose counters are missing or
 * below what the log holds; resolves with how many it put. A counter kept since it existed
 * is never lowered: retention may have pruned notices it counted. The caller writes the
 * batch (with whatever else its step records), so the states change atomically with it.
 */
export async function backfillStreamCounters(store: EventStore, batch: Batch): Promise<number> {
  const counts = await countSequenceNotices(store);
  let put = 0;
  for (const [source, st] of await readSourceStates(store)) {
    const c = counts.get(source);
    const gaps = Math.max(st.gapsRecorded ?? 0, c?.gaps ?? 0);
    const resets = Math.max(st.resetsRecorded ?? 0, c?.resets ?? 0);
    if (st.gapsRecorded === gaps && st.resetsRecorded === resets) continue;
    const next: SourceState = { ...st, gapsRecorded: gaps, resetsRecorded: resets };
    batch.put(source, encodeValue(next), { sublevel: store.sources });
    put++;
  }
  return put;
}
