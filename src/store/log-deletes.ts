// Deleting a prefix of the log with the index entries that only point into it, and the
// compactions that make LevelDB give the space back. Shared by retention (age) and eviction
// (size, free space). Deletes go out in bounded batches while bounded iterators walk the
// log: memory stays flat however large it is.
import { deleteCorrelation } from './correlation-index.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, SEP, SEP_END, seqKey } from './keys.js';
import type { WriteBatch } from './write-batch.js';

export const CHUNK = 1_000;
export const BATCH = 2_000;

/** Deletes up to `limit` log events at or below `through`, oldest first. */
export async function deleteLogThrough(store: EventStore, through: number, limit: number): Promise<{ deleted: number; first: number | null; last: number | null }> {
  const batch = store.newWriteBatch();
  const it = store.log.keys({ lte: seqKey(through) });
  let deleted = 0;
  let first: number | null = null;
  let last: number | null = null;
  try {
    while (deleted < limit) {
      const keys = await it.nextv(Math.min(CHUNK, limit - deleted));
      if (keys.length === 0) break;
      for (const key of keys) batch.del(store.log.prefix + key);
      first ??= parseSeqKey(keys[0]);
      last = parseSeqKey(keys[keys.length - 1]);
      deleted += keys.length;
      if (batch.length >= BATCH) await batch.write(false);
    }
  } finally {
    await it.close();
  }
  // Not synced: a delete lost in a power cut is simply done again by the next run.
  if (batch.length) await batch.write(false);
  return { deleted, first, last };
}

export interface IndexDeletes { urgent: number; lastMark: string | null; segments: number; correlations: number }

/** With every log key at or below `through` gone: the index entries that only point there. */
export async function deleteIndexesThrough(store: EventStore, through: number): Promise<IndexDeletes> {
  const batch = store.newWriteBatch();
  const it = store.urgent.keys({ lte: seqKey(through) });
  let urgent = 0;
  try {
    for (let keys = await it.nextv(CHUNK); keys.length; keys = await it.nextv(CHUNK)) {
      for (const key of keys) batch.del(store.urgent.prefix + key);
      urgent += keys.length;
      if (batch.length >= BATCH) await batch.write(false);
    }
  } finally {
    await it.close();
  }
  const lastMark = await deleteMarksThrough(store, batch, through);
  const segments = await deleteSegmentsThrough(store, batch, through);
  const correlations = await deleteCorrelationsThrough(store, batch, through);
  if (batch.length) await batch.write(false);
  return { urgent, lastMark, segments, correlations };
}

/** The correlation index entries of the deleted events, found through their seqs. */
async function deleteCorrelationsThrough(store: EventStore, batch: WriteBatch, through: number): Promise<number> {
  const it = store.correlatedSeqs.iterator({ lte: seqKey(through) });
  let deleted = 0;
  try {
    for (let entries = await it.nextv(CHUNK); entries.length; entries = await it.nextv(CHUNK)) {
      for (const [seq, correlationId] of entries) deleteCorrelation(store, batch, correlationId, seq);
      deleted += entries.length;
      if (batch.length >= BATCH) await batch.write(false);
    }
  } finally {
    await it.close();
  }
  return deleted;
}

/**
 * A mark covers its seq up to the next mark's. Marks whose range is wholly pruned go; the
 * one covering the first remaining seq stays (`since` reads start there), and so does the
 * newest (the appender reads it back to keep marks monotonic under a clock set back).
 */
async function deleteMarksThrough(store: EventStore, batch: WriteBatch, through: number): Promise<string | null> {
  const it = store.times.iterator();
  let previous: string | null = null;
  let lastDeleted: string | null = null;
  try {
    for (;;) {
      const marks = await it.nextv(CHUNK);
      if (marks.length === 0) return lastDeleted;
      for (const [key, seq] of marks) {
        if (parseSeqKey(seq) > through + 1) return lastDeleted;
        if (previous !== null) {
          batch.del(store.times.prefix + previous);
          lastDeleted = previous;
        }
        previous = key;
      }
      if (batch.length >= BATCH) await batch.write(false);
    }
  } finally {
    await it.close();
  }
}

/**
 * Segments whose seqs are all pruned. A source's segments are in version order, which is
 * seq order, so its first segment that still holds a live seq ends that source: the
 * iterator seeks past the rest of it. A segment half pruned stays; readers skip the gaps.
 */
async function deleteSegmentsThrough(store: EventStore, batch: WriteBatch, through: number): Promise<number> {
  const it = store.streams.iterator();
  let deleted = 0;
  try {
    for (;;) {
      const segments = await it.nextv(CHUNK);
      if (segments.length === 0) return deleted;
      let done: string | null = null;
      for (const [key, seqs] of segments) {
        const source = key.slice(0, key.lastIndexOf(SEP));
        if (source === done) continue;
        if (Number(seqs.slice(seqs.lastIndexOf(' ') + 1)) > through) {
          done = source;
          continue;
        }
        batch.del(store.streams.prefix + key);
        deleted++;
      }
      if (batch.length >= BATCH) await batch.write(false);
      const lastKey = segments[segments.length - 1][0];
      if (done !== null && lastKey.startsWith(done + SEP)) it.seek(done + SEP_END);
    }
  } finally {
    await it.close();
  }
}

export async function compactIndexes(store: EventStore, through: number, deleted: IndexDeletes): Promise<void> {
  if (deleted.urgent > 0) await compactKeys(store, store.urgent.prefix, store.urgent.prefix + seqKey(through));
  if (deleted.lastMark !== null) await compactKeys(store, store.times.prefix, store.times.prefix + deleted.lastMark);
  // Every source's head is pruned: the deletes span the whole sublevel.
  if (deleted.segments > 0) await compactKeys(store, store.streams.prefix, prefixEnd(store.streams.prefix));
  if (deleted.correlations > 0) {
    await compactKeys(store, store.correlatedSeqs.prefix, store.correlatedSeqs.prefix + seqKey(through));
    // A chain's entries sort by correlation id first: the deletes are spread over the sublevel.
    await compactKeys(store, store.correlations.prefix, prefixEnd(store.correlations.prefix));
  }
}

/**
 * LevelDB drops a deleted key's data only when a compaction reaches the bottom level
 * holding it; the log's head, never written again, would otherwise keep its files for
 * ever. Raw keys (sublevel prefix included), inclusive range.
 */
export async function compactKeys(store: EventStore, start: string, end: string): Promise<void> {
  await store.db.compactRange(start, end);
}

/** The smallest key above every key under `prefix`. */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
