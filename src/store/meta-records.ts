// The named records other parts of the gateway keep in the meta sublevel, so they move
// with the data dir on a backup or restore. Their key names are part of the store's
// layout: they stay as they are across versions.
import type { EventStore } from './event-store.js';

const UPSTREAM_CURSOR = 'upstream.cursor';
const UPSTREAM_BATCH = 'upstream.batch';
const RULES_ABSENCE = 'rules.absent';
const SPARKPLUG_BDSEQ = 'sparkplug.bdSeq';

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

/** The bdSeq of the Sparkplug edge node's last MQTT CONNECT; undefined before the first. */
export async function readSparkplugBdSeq(store: EventStore): Promise<number | undefined> {
  const v = await store.meta.get(SPARKPLUG_BDSEQ);
  return v === undefined ? undefined : Number(v);
}

/**
 * Synced: a restart must never reuse a bdSeq the broker may still hold in a Will, or a host
 * would take the old session's NDEATH for the new one's.
 */
export async function writeSparkplugBdSeq(store: EventStore, bdSeq: number): Promise<void> {
  const batch = store.newWriteBatch();
  batch.put(store.meta.prefix + SPARKPLUG_BDSEQ, String(bdSeq));
  await batch.write(true);
}
