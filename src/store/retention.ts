// The store's age bound (SPEC §2 `store.retention`), run by the prune job. It only deletes
// keys that exist when it starts — never a key the appender may still write — so it runs
// beside it without a lock (see log-deletes.ts for how).
//
// Age is receive time, read from the `times` marks, not the event's timestamp: device
// clocks are wrong often enough (no RTC, wrong zone) that a timestamp would keep some
// forwarded events for ever and drop others at once.
import type { EventStore } from './event-store.js';
import { parseSeqKey, seqKey, timeKey } from './keys.js';
import { compactIndexes, compactKeys, deleteIndexesThrough, deleteLogThrough } from './log-deletes.js';

export interface PruneOptions {
  /** Highest seq acknowledged upstream; without an upstream, the last seq. */
  forwardedThrough: number;
  retentionMs: number;
  now: number;
}

export interface PruneSummary {
  /** Log events deleted by this run. */
  pruned: number;
  /** Every seq at or below this is gone from the log; null when nothing was old enough. */
  throughSeq: number | null;
}

/**
 * Deletes forwarded events received longer than `retentionMs` ago, with the `times`,
 * `urgent` and `streams` entries that only point at them, then compacts what it deleted.
 */
export async function pruneForwarded(store: EventStore, opts: PruneOptions): Promise<PruneSummary> {
  const through = Math.min(opts.forwardedThrough, await agedOutThrough(store, opts.now - opts.retentionMs));
  if (through < 1) return { pruned: 0, throughSeq: null };
  const { deleted, first } = await deleteLogThrough(store, through, Infinity);
  const indexes = await deleteIndexesThrough(store, through);
  if (deleted > 0) await compactKeys(store, store.log.prefix + seqKey(first!), store.log.prefix + seqKey(through));
  await compactIndexes(store, through, indexes);
  return { pruned: deleted, throughSeq: through };
}

/**
 * The highest seq received before `cutoff`. A mark says its commit's first seq arrived at
 * its time, so everything below the newest mark at or before the cutoff is older; the
 * commits after that mark are not proven old (a clock set back after a reboot writes no
 * marks), so they wait for the next mark to age out.
 */
async function agedOutThrough(store: EventStore, cutoff: number): Promise<number> {
  if (cutoff < 0) return 0;
  const marks = await store.times.values({ lte: timeKey(cutoff), reverse: true, limit: 1 }).all();
  return marks.length ? parseSeqKey(marks[0]) - 1 : 0;
}

/**
 * Compacts the whole key space. Rewrites every table, so it costs a full copy of the
 * store in writes (SD-card wear): for maintenance, not for every prune.
 */
export async function compactStore(store: EventStore): Promise<void> {
  await store.db.compactRange('', '\uffff');
}
