// The correlation index: which events belong to one chain (`metadata.correlationId`), so
// `events --correlation ID` reads the chain's entries instead of scanning the log. An event
// with a correlation id gets two keys in its commit's batch — `corr` (id NUL seq → '': the
// chain in log order) and `corrseqs` (seq → id: the way back, so retention, which deletes
// by seq, finds the chain entries of the events it deletes). Events without one, the bulk
// of telemetry, cost nothing here. Events stored before this index existed are not in it
// (their chains are found from the root only: see log-reader.ts).
import type { EventStore } from './event-store.js';
import { correlationKey, correlationSeq, parseSeqKey, SEP_END, seqKey } from './keys.js';
import type { WriteBatch } from './write-batch.js';

/** Chain entries read per step. */
const CHUNK = 256;

export class CorrelationIndex {
  /** The prefixes of the `corr` and `corrseqs` sublevels (see forStore). */
  constructor(private readonly chainPrefix: string, private readonly backPrefix: string) {}

  static forStore(store: EventStore): CorrelationIndex {
    return new CorrelationIndex(store.correlations.prefix, store.correlatedSeqs.prefix);
  }

  /** Indexes the event stored under `seq` (its seq key) in `batch`, the batch that stores it. */
  put(batch: WriteBatch, correlationId: string, seq: string): void {
    batch.put(this.chainPrefix + correlationKey(correlationId, seq), '');
    batch.put(this.backPrefix + seq, correlationId);
  }
}

/** Deletes one event's entries (an eviction that picks events across the log). */
export function deleteCorrelation(store: EventStore, batch: WriteBatch, correlationId: string, seq: string): void {
  batch.del(store.correlations.prefix + correlationKey(correlationId, seq));
  batch.del(store.correlatedSeqs.prefix + seq);
}

/**
 * The seq keys of the chain `correlationId`, from `fromSeq` up to `toSeq`, in log order, a
 * chunk at a time: every event indexed under the id, and `root` (the seq of the event whose
 * id it is, or null) in its place among them.
 */
export async function* chainSeqKeys(store: EventStore, correlationId: string, root: number | null, fromSeq: number, toSeq = Infinity): AsyncGenerator<string[]> {
  let pendingRoot = root !== null && root >= fromSeq && root <= toSeq ? root : null;
  const it = store.correlations.keys({ gte: correlationKey(correlationId, seqKey(fromSeq)), lt: correlationId + SEP_END });
  let done = false;
  try {
    while (!done) {
      const keys = await it.nextv(CHUNK);
      if (keys.length === 0) break;
      const out: string[] = [];
      for (const key of keys) {
        const seq = correlationSeq(correlationId, key);
        if (seq === null) continue;
        if (seq > toSeq) {
          done = true;
          break;
        }
        if (pendingRoot !== null && pendingRoot <= seq) {
          // An event whose correlation id is its own id is indexed too: it comes once.
          if (pendingRoot < seq) out.push(seqKey(pendingRoot));
          pendingRoot = null;
        }
        out.push(seqKey(seq));
      }
      if (out.length) yield out;
    }
  } finally {
    await it.close();
  }
  if (pendingRoot !== null) yield [seqKey(pendingRoot)];
}

/** The seq of the first event indexed under `correlationId`, or null: its root comes before it. */
export async function firstChainSeq(store: EventStore, correlationId: string): Promise<number | null> {
  for await (const keys of chainSeqKeys(store, correlationId, null, 1)) return parseSeqKey(keys[0]);
  return null;
}
