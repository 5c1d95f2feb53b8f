// The named records other parts of the gateway keep in the meta sublevel, so they move
// with the data dir on a backup or restore. Their key names are part of the store's
// layout: they stay as they are across versions.
import type { EventStore } from './event-store.js';

const UPSTREAM_CURSOR = 'upstream.cursor';
const UPSTREAM_BATCH = 'upstream.batch';
const RULES_ABSENCE = 'rules.absent';

/** The forwarder's durable progress: the last seq upstream acknowledged, and its batch counter. */
export interface UpstreamProgress {
  cursor: number;
  batchNumber: number;
}

async function readNumber(store: EventStore, key: string): Promise<number> {
  const v = await store.meta.get(key);
  return v === undefined ? 0 : Number(v);
}

/** 0 when nothing has been forwarded yet. */
export async function readUpstreamCursor(store: EventStore): Promise<number> {
  return readNumber(store, UPSTREAM_CURSOR);
}

/** 0 before the first batch. */
export async function readUpstreamBatchNumber(store: EventStore): Promise<number> {
  return readNumber(store, UPSTREAM_BATCH);
}

/** Both in one atomic write: the counter read back at start is the one saved with the cursor. */
export async function writeUpstreamProgress(store: EventStore, progress: UpstreamProgress): Promise<void> {
  await store.meta.batch([
    { type: 'put', key: UPSTREAM_CURSOR, value: String(progress.cursor) },
    { type: 'put', key: UPSTREAM_BATCH, value: String(progress.batchNumber) },
  ]);
}

/** What absence rules know (their JSON snapshot, the rules' own format); undefined when none was saved. */
export async function readRulesAbsence(store: EventStore): Promise<string | undefined> {
  return store.meta.get(RULES_ABSENCE);
}

export async function writeRulesAbsence(store: EventStore, snapshot: string): Promise<void> {
  await store.meta.put(RULES_ABSENCE, snapshot);
}
