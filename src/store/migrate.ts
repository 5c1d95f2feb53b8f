// Store layouts of older releases, brought up to date at open, one version at a time. Each
// step is one atomic batch that also records the new version, so a crash half-way leaves
// the old layout whole and the step runs again at the next open.
import type { EventStore } from './event-store.js';
import { foldLog, replaceDeviceStates } from './device-state.js';
import { seqKey } from './keys.js';
import { backfillStreamCounters } from './stream-counters.js';

export async function migrate(store: EventStore, from: number, to: number): Promise<void> {
  for (let v = from; v < to; v++) {
    const step = STEPS[v];
    if (!step) throw new Error(`no migration from store schema version ${v}`);
    await step(store);
  }
}

const STEPS: Record<number, (store: EventStore) => Promise<void>> = {
  1: idGroupsBySeq,
  2: projectionsFromLog,
};

/** One backfill of a migration step: it reads the old layout and adds its writes to the step's batch. */
type Backfill = (store: EventStore, batch: Batch) => Promise<void>;
type Batch = ReturnType<EventStore['batch']>;

/**
 * 2 → 3: the projections a version 2 store lacks, built from its log. Each backfill adds to
 * the one batch that also records version 3.
 */
const BACKFILLS_TO_3: readonly Backfill[] = [deviceStates, streamCounters];

async function projectionsFromLog(store: EventStore): Promise<void> {
  const batch = store.batch();
  for (const backfill of BACKFILLS_TO_3) await backfill(store, batch);
  batch.put('schemaVersion', '3', { sublevel: store.meta });
  await batch.write();
}

/** The device-state projection: one pass over the log, memory bounded by devices × sensors. */
async function deviceStates(store: EventStore, batch: Batch): Promise<void> {
  // Prefixed keys on the root handle: the projection writes them as the appender does.
  await replaceDeviceStates(store, await foldLog(store), { put: (k, v) => batch.put(k, v), del: (k) => batch.del(k) });
}

/** Each source's gap and reset counters (kept at append since version 3), counted from the log's notices. */
async function streamCounters(store: EventStore, batch: Batch): Promise<void> {
  await backfillStreamCounters(store, batch);
}

/**
 * 1 → 2: `idgroups` was keyed by the commit's wall-clock time, and an entry went when the
 * dedup window passed; now it is keyed by the seq of the commit's last id-carrying event
 * and goes with the events it names. Times elsewhere were wall-clock times, which the
 * gateway clock starts at when a store meets it first: they stay as they are.
 */
async function idGroupsBySeq(store: EventStore): Promise<void> {
  const batch = store.batch();
  const regrouped = new Map<string, string[]>();
  for await (const [key, value] of store.idGroups.iterator()) {
    batch.del(key, { sublevel: store.idGroups });
    const ids = value.split('\n');
    const entries = await store.ids.getMany(ids);
    let last = -1;
    for (const entry of entries) if (entry !== undefined) last = Math.max(last, Number(entry.slice(0, entry.indexOf(':'))));
    if (last < 0) continue;
    const k = seqKey(last);
    regrouped.set(k, [...(regrouped.get(k) ?? []), ...ids]);
  }
  for (const [key, ids] of regrouped) batch.put(key, ids.join('\n'), { sublevel: store.idGroups });
  batch.put('schemaVersion', '2', { sublevel: store.meta });
  await batch.write();
}
