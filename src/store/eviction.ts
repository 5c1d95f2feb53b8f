// The store's size bounds (SPEC §2 `store.maxBytes`, `store.minFree`), run by the prune
// job: when the store is too big or its file system too full, the oldest events go,
// forwarded ones first, then the backlog lowest priority first. Like retention it only
// deletes keys that exist when it starts — never a key the appender may still write — so
// it runs beside the appender without a lock.
import { decodeEvent } from '../events/codec.js';
import { PRIORITIES, type Priority } from '../events/types.js';
import { deleteCorrelation } from './correlation-index.js';
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
  /**
   * Told what will go (its `…After` figures are still the before ones) before anything is
   * deleted; nothing is if it throws. The prune job makes the eviction notice durable here.
   */
  announce?: (plan: EvictionSummary) => Promise<void>;
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
 *
 * What goes is decided first (read only) and handed to `announce` — the prune job appends
 * the eviction notice there — and deleted only once that resolves: a compaction that
 * fails for want of space after the deletes (it happened, on a nearly full disk) would
 * otherwise have left a hole no notice accounts for. A crash in between leaves a notice
 * for events still there; the next run deletes them under a notice of its own.
 *
 * One measure-evict-compact round per run: a measurement taken right after a compaction
 * can lag it, and a second round that trusted it evicted everything in a test. The count
 * is estimated from bytes per event over the log's seq span, which errs towards too few
 * (holes left by earlier evictions, index entries an event does not take with it); the
 * next run goes on from there. Events appended while this runs are the newest: left for
 * the next run. Readers skip the holes; stream segments that point into them stay until
 * pruneForwarded passes them.
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
  const bytes = await store.liveBytes();
  const free = disk ? await disk.freeBytes() : null;
  summary.bytesBefore = summary.bytesAfter = bytes;
  summary.freeBytesBefore = summary.freeBytesAfter = free;
  const settled = free === null ? null : await settledFree(store, free, bytes);
  const bound0 = evictionTarget(bytes, settled, opts.maxBytes, disk, ratio);
  if (bound0 === null) return summary;
  summary.cause = bound0.cause;
  const bound = await store.lastSeq();
  const span = bound - (await store.firstSeq()) + 1;
  const want = Math.ceil((bytes - bound0.target) / (bytes / Math.max(1, span)));
  const plan = await planEviction(store, want, Math.min(opts.forwardedThrough, bound), bound);
  if (plan.forwarded) {
    summary.forwarded = plan.forwarded.count;
    summary.forwardedFromSeq = plan.forwarded.first;
    summary.forwardedToSeq = plan.forwarded.last;
  }
  for (const pass of plan.backlog) {
    summary.byPriority[pass.priority] = pass.count;
    summary.evicted += pass.count;
    summary.fromSeq = Math.min(summary.fromSeq ?? pass.from, pass.from);
    summary.toSeq = Math.max(summary.toSeq ?? pass.through, pass.through);
  }
  if (summary.forwarded + summary.evicted === 0) return summary;
  await opts.announce?.({ ...summary, byPriority: { ...summary.byPriority } });
  await applyEviction(store, plan);
  summary.bytesAfter = await store.liveBytes();
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

/**
 * What one eviction deletes. Events never change and none is appended at or below the
 * bound, so a range and a priority name the same events when deleted as when chosen.
 */
interface EvictionPlan {
  /** Every log event from first to last (forwarded ones: all priorities). */
  forwarded: { first: number; last: number; count: number } | null;
  /** Per priority, lowest first: every event of it from `from` to `through`. */
  backlog: { priority: Priority; from: number; through: number; count: number }[];
}

/** Chooses up to `want` events in eviction order, deleting nothing. */
async function planEviction(store: EventStore, want: number, forwardedThrough: number, bound: number): Promise<EvictionPlan> {
  const plan: EvictionPlan = { forwarded: null, backlog: [] };
  let left = want;
  if (forwardedThrough >= 1) {
    const it = store.log.keys({ lte: seqKey(forwardedThrough) });
    let first: number | null = null;
    let last = 0;
    let count = 0;
    try {
      while (count < left) {
        const keys = await it.nextv(Math.min(CHUNK, left - count));
        if (keys.length === 0) break;
        first ??= parseSeqKey(keys[0]);
        last = parseSeqKey(keys[keys.length - 1]);
        count += keys.length;
      }
    } finally {
      await it.close();
    }
    if (first !== null) {
      plan.forwarded = { first, last, count };
      left -= count;
    }
  }
  for (const priority of PRIORITIES) {
    if (left <= 0) break;
    let from: number | null = null;
    let through = 0;
    let count = 0;
    passes: for await (const chunk of candidates(store, isUrgent(priority), forwardedThrough + 1, bound)) {
      for (const [key, bytes] of chunk) {
        if (decodeEvent(bytes).metadata.priority !== priority) continue;
        through = parseSeqKey(key);
        from ??= through;
        if (++count >= left) break passes;
      }
    }
    if (from !== null) {
      plan.backlog.push({ priority, from, through, count });
      left -= count;
    }
  }
  return plan;
}

/** Deletes what the plan names, with its index entries, and compacts the ranges. */
async function applyEviction(store: EventStore, plan: EvictionPlan): Promise<void> {
  if (plan.forwarded) {
    const { first, last, count } = plan.forwarded;
    await deleteLogThrough(store, last, count);
    const indexes = await deleteIndexesThrough(store, last);
    await compactKeys(store, store.log.prefix + seqKey(first), store.log.prefix + seqKey(last));
    await compactIndexes(store, last, indexes);
  }
  if (plan.backlog.length === 0) return;
  const batch = store.newWriteBatch();
  let low = Infinity;
  let high = -Infinity;
  let chained = false;
  for (const { priority, from, through } of plan.backlog) {
    const urgent = isUrgent(priority);
    for await (const chunk of candidates(store, urgent, from, through)) {
      for (const [key, bytes] of chunk) {
        const { metadata } = decodeEvent(bytes);
        if (metadata.priority !== priority) continue;
        batch.del(store.log.prefix + key);
        if (urgent) batch.del(store.urgent.prefix + key);
        if (metadata.correlationId) {
          deleteCorrelation(store, batch, metadata.correlationId, key);
          chained = true;
        }
      }
      if (batch.length >= BATCH) await batch.write(false);
    }
    low = Math.min(low, from);
    high = Math.max(high, through);
  }
  // Not synced: a delete lost in a power cut is done again by the next run.
  if (batch.length) await batch.write(false);
  await compactKeys(store, store.log.prefix + seqKey(low), store.log.prefix + seqKey(high));
  await compactKeys(store, store.urgent.prefix + seqKey(low), store.urgent.prefix + seqKey(high));
  if (chained) await compactKeys(store, store.correlatedSeqs.prefix + seqKey(low), store.correlatedSeqs.prefix + seqKey(high));
}

const isUrgent = (p: Priority) => p === 'high' || p === 'critical';

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
