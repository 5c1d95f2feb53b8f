// Reads of the log as stored bytes, by seq: what the forwarder and the resender send
// upstream without decoding it first. Every read is bounded (a limit or a chunked
// iterator), so a backlog of any size never sits in memory at once.
import type { EventStore } from './event-store.js';
import { parseSeqKey, seqKey } from './keys.js';

/** One event of the log: its seq and its CBOR bytes (the wire encoding). */
export type StoredEvent = readonly [seq: number, bytes: Uint8Array];

/** The events with seqs in [from, to], in order, at most `limit` of them. */
export async function readRange(store: EventStore, from: number, to: number, limit: number): Promise<StoredEvent[]> {
  const entries = await store.log.iterator({ gte: seqKey(from), lte: seqKey(to), limit }).all();
  return entries.map(([key, bytes]) => [parseSeqKey(key), bytes] as const);
}

/**
 * The events with seqs in [from, to] (to the end of the log by default), in chunks of at
 * most `chunk`. Leaving the loop early closes the iterator.
 */
export async function* scanRange(store: EventStore, from: number, to = Infinity, chunk = 256): AsyncGenerator<StoredEvent[]> {
  const it = store.log.iterator({ gte: seqKey(from), ...(Number.isFinite(to) ? { lte: seqKey(to) } : {}) });
  try {
    for (;;) {
      const entries = await it.nextv(chunk);
      if (entries.length === 0) return;
      yield entries.map(([key, bytes]) => [parseSeqKey(key), bytes] as const);
    }
  } finally {
    await it.close();
  }
}

/** One event's stored bytes; undefined when its seq was never written or was evicted. */
export async function readEvent(store: EventStore, seq: number): Promise<Uint8Array | undefined> {
  return store.log.get(seqKey(seq));
}

/** The seqs of the high and critical events in [from, to], in order, at most `limit`. */
export async function urgentSeqs(store: EventStore, from: number, to: number, limit: number): Promise<number[]> {
  const keys = await store.urgent.keys({ gte: seqKey(from), lte: seqKey(to), limit }).all();
  return keys.map(parseSeqKey);
}

/** The stored bytes of these seqs, in the same order; undefined for an evicted one. */
export async function readSeqs(store: EventStore, seqs: readonly number[]): Promise<(Uint8Array | undefined)[]> {
  return store.log.getMany(seqs.map(seqKey));
}
