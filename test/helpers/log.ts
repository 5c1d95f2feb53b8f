// Reading and checking the event log as a whole, from outside the daemon.
import assert from 'node:assert/strict';
import type { EdgeEvent } from '../../src/events/types.js';
import { EventStore, storeDir } from '../../src/store/event-store.js';
import { readEvents, type EventQuery } from '../../src/store/log-reader.js';

/** Opens the store of a stopped daemon and reads its events in log order. */
export async function readStoredEvents(dataDir: string, query: EventQuery = {}): Promise<EdgeEvent[]> {
  const store = await EventStore.open(storeDir(dataDir));
  try {
    const out: EdgeEvent[] = [];
    for await (const e of readEvents(store, query)) out.push(e);
    return out;
  } finally {
    await store.close();
  }
}

/** Log `seq` is 1, 2, 3, … with no gap and no repeat. */
export function assertGapFreeFromOne(events: readonly EdgeEvent[]): void {
  events.forEach((e, i) => assert.equal(e.seq, i + 1, `event #${i} has seq ${e.seq}, expected ${i + 1} (id ${e.id})`));
}

/** No id is stored twice. */
export function assertUniqueIds(events: readonly EdgeEvent[]): void {
  const seen = new Map<string, number>();
  for (const e of events) {
    const prev = seen.get(e.id);
    assert.equal(prev, undefined, `id ${e.id} stored twice: seq ${prev} and ${e.seq}`);
    seen.set(e.id, e.seq);
  }
}
