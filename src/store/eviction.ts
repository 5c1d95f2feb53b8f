// The store's size bounds (SPEC §2 `store.maxBytes`, `store.minFree`), run by the prune
// job: when the store is too big or its file system too full, the oldest events go,
// forwarded ones first, then the backlog lowest priority first. Like retention it only
// deletes keys that exist when it starts — never a key the appender may still write — so
// it runs beside the appender without a lock.
import { decodeEvent } from '../events/codec.js';
import { PRIORITIES, type Priority } from '../events/types.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, seqKey } from './keys.js';
import { BATCH, CHUNK, compactIndexes, compactKeys, deleteIndexesThrough, deleteLogThrough } from './log-deletes.js';

export interface EvictOptions {
  maxBytes: number;
  /** Highest seq acknowledged upstream: events at or below it go first (see evictToFit). */
  forwardedThrough: number;
  /** Not used for ordering — within the backlog "oldest" is log order — kept for the job's call shape. */
  now?: number;
  /**
   * Evict until the store is below maxBytes × this (default 0.9), or free space is above
   * minFree ÷ this, so the next run has headroom.
   */
  targetRatio?: number;
  /** The file system the store is on; absent: only maxBytes bounds the store. */
  disk?: DiskBound | null;
}

export interface DiskBound {
  /** Free bytes below which the store gives space back; 0: no bound. */
  minFree: number;
  /** Free bytes on the store's file system now (available to this process). */
  freeBytes: () => Promise<number>;
}

/** The bound that set how much went: the store's own cap or the file system's free space. */
export type EvictionCause = 'max-bytes' | 'disk-free';

export interface EvictionSummary {
  /** null when neither bound was crossed. */
  cause: EvictionCause | null;
  /** Unforwarded events evicted: data that never reached upstream. */
  evicted: number;
  byPriority: Record<Priority, number>;
  /** Lowest and highest seq of the unforwarded events evicted. */
  fromSeq: number | null;
  toSeq: number | null;
  /** Forwarded events deleted ahead of their retention to make room (already safe upstream). */
  forwarded: number;
  /** Lowest and highest seq of those: every log event between them is gone. */
  forwardedFromSeq: number | null;
  forwardedToSeq: number | null;
  bytesBefore: number;
  bytesAfter: number;
  /** Free bytes on the file system before and after; null without a disk bound. */
  freeBytesBefore: number | null;
  freeBytesAfter: number | null;
}

/**
 * Measure-evict-compact rounds per run. One: a measurement taken right after a compaction
 * can lag it, and a second round that trusted it evicted everything in a test. The first
 * estimate errs towards too few, and the next run (schedules.prune) goes on from there.
 */
const MAX_ROUNDS = 1;

/**
 * When the store is over `maxBytes` (a long outage), or its file system has less than
 * `disk.minFree` free (the card is shared, or small), deletes events until the store is
 * under maxBytes × targetRatio and the free space is over minFree ÷ targetRatio —
 * whichever needs more to go sets the target and is the summary's cause — in this order:
 *   1. forwarded events not yet pruned, oldest first — they are safe upstream, so they
 *      go before any backlog, ahead of their retention;
 *   2. the unforwarded backlog, lowest priority first and oldest first within one:
 *      every `low`, then `normal`, then `high`, then `critical`.
 * Both bounds are one target in live bytes: deleting events and compacting them gives
 * their table bytes back to the file system, so a free-space deficit is that many live
 * bytes to shed. The deficit is of the free space the store will leave once settled (see
 * settledFree), not of the free space this instant. A deficit larger than the store
 * (another program filled the disk) evicts all of it that can go: ingest keeps the newest
 * readings rather than the oldest.
 * The count per round is estimated from bytes per event (the first round: store bytes
 * over the log's seq span; later ones: what the last round actually freed per event),
 * then the deleted ranges are compacted so LevelDB frees the files, and the store is
 * measured again, for at most MAX_ROUNDS rounds. Events appended while this runs are the
 * newest: left for the next run. Readers skip the holes; stream segments that point into
 * them stay until pruneForwarded passes them.
 */
export async function evictToFit(store: EventStore, opts: EvictOptions): Promise<EvictionSummary> {
  const disk = opts.disk && opts.disk.minFree > 0 ? opts.disk : null;
  const bytesBefore = await store.liveBytes();
  const freeBefore = disk ? await disk.freeBytes() : null;
  const summary: EvictionSummary = {
    cause: null, evicted: 0, byPriority: { low: 0, normal: 0, high: 0, critical: 0 }, fromSeq: null, toSeq: null,
    forwarded: 0, forwardedFromSeq: null, forwardedToSeq: null,
    bytesBefore, bytesAfter: bytesBefore, freeBytesBefore: freeBefore, freeBytesAfter: freeBefore,
  };
  const ratio = opts.targetRatio ?? 0.9;
  if (evictionTarget(bytesBefore, freeBefore, opts.maxBytes, disk, ratio) === null) return summary;
  // What sits in the memtable is counted by its write-ahead log, uncompressed (up to 4 MB):
  // flushing it into a table first measures it as it will be.
  await flushMemtable(store);
  let bytes = await store.liveBytes();
  const free = disk ? await disk.freeBytes() : null;
  summary.bytesAfter = bytes;
  summary.freeBytesAfter = free;
  const settled = free === null ? null : await settledFree(store, free, bytes);
  const bound0 = evictionTarget(bytes, settled, opts.maxBytes, disk, ratio);
  if (bound0 === null) return summary;
  const { target } = bound0;
  summary.cause = bound0.cause;
  const bound = await store.lastSeq();
  const span = bound - (await store.firstSeq()) + 1;
  // Holes left by earlier evictions make the span an overcount, and the index and
  // rejected entries an event does not take with it an overcharge: the estimate errs
  // towards evicting too few, and the next round corrects it from what was freed.
  const estimate = bytes / Math.max(1, span);
  let perEvent = estimate;
  const next = Object.fromEntries(PRIORITIES.map((p) => [p, opts.forwardedThrough + 1])) as Record<Priority, number>;
  for (let round = 0; round < MAX_ROUNDS && bytes > target; round++) {
    const want = Math.ceil((bytes - target) / perEvent);
    const count = await evictRound(store, want, Math.min(opts.forwardedThrough, bound), bound, next, summary);
    if (count === 0) break;
    const after = await store.liveBytes();
    // Nothing freed: the compaction has not run through yet, and evicting more now would
    // lose events for no space. The next run tries again.
    if (after >= bytes) {
      bytes = after;
      break;
    }
    // Never below the first estimate: a measurement that lags the compaction would
    // otherwise make every event look cheap, and the next round evict far too many.
    perEvent = Math.max((bytes - after) / count, estimate);
    bytes = after;
  }
  summary.bytesAfter = bytes;
  if (disk) summary.freeBytesAfter = await disk.freeBytes();
  return summary;
}

/**
 * Free space once LevelDB has dropped the files it no longer needs: tables a compaction
 * replaced but an open read still pins, and outputs of a compaction under way. Both come
 * and go by the second, by tens of MB (a 17 MB store on tmpfs: +9 MB during an eviction's
 * compaction, +16 MB while a reader was open, given back only at the next compaction
 * after it). Evicting for them deleted two thirds of a store whose settled free space was
 * over minFree, and the eviction's own compaction then looked like a new deficit.
 */
async function settledFree(store: EventStore, free: number, liveBytes: number): Promise<number> {
  return free + Math.max(0, (await store.approximateBytes()) - liveBytes);
}

/**
 * The live bytes to get the store under, and which bound asks for it; null when the store
 * is within both. Free space comes back as live bytes go (see evictToFit), so the disk's
 * target is the store less the deficit, headroom included.
 */
function evictionTarget(bytes: number, free: number | null, maxBytes: number, disk: DiskBound | null, ratio: number): { target: number; cause: EvictionCause } | null {
  const cap = bytes > maxBytes ? maxBytes * ratio : Infinity;
  const low = disk !== null && free !== null && free < disk.minFree ? bytes - (disk.minFree / ratio - free) : Infinity;
  if (cap === Infinity && low === Infinity) return null;
  return low < cap ? { target: Math.max(0, low), cause: 'disk-free' } : { target: cap, cause: 'max-bytes' };
}

/** One round: deletes up to `want` events in eviction order and compacts them. Returns how many. */
async function evictRound(store: EventStore, want: number, forwardedThrough: number, bound: number, next: Record<Priority, number>, summary: EvictionSummary): Promise<number> {
  let count = 0;
  if (forwardedThrough >= 1) {
    const { deleted, first, last } = await deleteLogThrough(store, forwardedThrough, want);
    if (deleted > 0) {
      const indexes = await deleteIndexesThrough(store, last!);
      await compactKeys(store, store.prefix.log + seqKey(first!), store.prefix.log + seqKey(last!));
      await compactIndexes(store, last!, indexes);
      summary.forwarded += deleted;
      summary.forwardedFromSeq = Math.min(summary.forwardedFromSeq ?? first!, first!);
      summary.forwardedToSeq = Math.max(summary.forwardedToSeq ?? last!, last!);
      count += deleted;
    }
  }
  const batch = store.newWriteBatch();
  let low = Infinity;
  let high = -Infinity;
  for (const priority of PRIORITIES) {
    if (count >= want) break;
    if (next[priority] > bound) continue;
    const urgent = priority === 'high' || priority === 'critical';
    for await (const chunk of candidates(store, urgent, next[priority], bound)) {
      let stop = false;
      for (const [key, bytes] of chunk) {
        const seq = parseSeqKey(key);
        next[priority] = seq + 1;
        if (decodeEvent(bytes).metadata.priority !== priority) continue;
        batch.del(store.prefix.log + key);
        if (urgent) batch.del(store.prefix.urgent + key);
        summary.byPriority[priority]++;
        low = Math.min(low, seq);
        high = Math.max(high, seq);
        if (++count >= want) {
          stop = true;
          break;
        }
      }
      if (batch.length >= BATCH) await batch.write(false);
      if (stop) break;
    }
    // The pass reached the bound: no event of this priority is left below it.
    if (count < want) next[priority] = bound + 1;
  }
  if (batch.length) await batch.write(false);
  if (high >= low) {
    summary.evicted = PRIORITIES.reduce((n, p) => n + summary.byPriority[p], 0);
    summary.fromSeq = Math.min(summary.fromSeq ?? low, low);
    summary.toSeq = Math.max(summary.toSeq ?? high, high);
    await compactKeys(store, store.prefix.log + seqKey(low), store.prefix.log + seqKey(high));
    await compactKeys(store, store.prefix.urgent + seqKey(low), store.prefix.urgent + seqKey(high));
  }
  return count;
}

/**
 * The events a priority's pass looks at, in seq order from `from` to `bound`. `high` and
 * `critical` ones are all in the urgent index: their passes read that, not the whole log.
 */
async function* candidates(store: EventStore, urgent: boolean, from: number, bound: number): AsyncGenerator<[string, Uint8Array][]> {
  const range = { gte: seqKey(from), lte: seqKey(bound) };
  if (!urgent) {
    const it = store.log.iterator(range);
    try {
      for (let chunk = await it.nextv(CHUNK); chunk.length; chunk = await it.nextv(CHUNK)) yield chunk;
    } finally {
      await it.close();
    }
    return;
  }
  const it = store.urgent.keys(range);
  try {
    for (let keys = await it.nextv(CHUNK); keys.length; keys = await it.nextv(CHUNK)) {
      const values = await store.log.getMany(keys);
      const chunk: [string, Uint8Array][] = [];
      for (let i = 0; i < keys.length; i++) if (values[i] !== undefined) chunk.push([keys[i], values[i]!]);
      yield chunk;
    }
  } finally {
    await it.close();
  }
}

/**
 * Writes the memtable out as a table, and nothing else. LevelDB flushes it at the start of
 * any compactRange; a range above every sublevel's keys then has no table to compact. A
 * range inside the key space is not cheap: every level-0 table spans every sublevel (one
 * flush holds log, ids, streams and times keys), so compacting even the small `meta` range
 * rewrote all of them into level 1 — measured on a 17 MB store on tmpfs: 16 MB of new
 * tables on disk before the old ones went, 30 MB while a reader held them.
 */
async function flushMemtable(store: EventStore): Promise<void> {
  await store.db.compactRange(ABOVE_ALL_KEYS, ABOVE_ALL_KEYS);
}

/** Sublevel keys start with '!' and a name in lower case: '~' sorts after all of them. */
const ABOVE_ALL_KEYS = '~';
