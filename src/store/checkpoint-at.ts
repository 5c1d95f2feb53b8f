// `checkpoint set NAME --at now|seq:N|time:ISO`: which seq a new checkpoint marks. A
// checkpoint is the last event handled, so `time:T` marks the last event received before T:
// a replay from the checkpoint then starts where `replay --from time:T` does.
import type { Timeline } from '../time/timeline.js';
import { CheckpointArgumentError, checkName, writeCheckpoint, type CheckpointRecord } from './checkpoints.js';
import type { EventStore } from './event-store.js';
import { firstSeqReceivedAt } from './replay-from.js';

export const CHECKPOINT_AT_FORMS = 'now, seq:N or time:ISO';

/**
 * @param lastSeq the log's last committed seq (`now`, and the highest `seq:N` allowed)
 * @param timeline the clock's segments: `time:` is a wall-clock time, matched as replay's is
 */
export async function resolveCheckpointAt(store: EventStore, at: string, lastSeq: number, timeline: Timeline): Promise<number> {
  if (at === 'now') return lastSeq;
  const colon = at.indexOf(':');
  const head = colon < 0 ? at : at.slice(0, colon);
  const rest = colon < 0 ? '' : at.slice(colon + 1);
  switch (head) {
    case 'seq': {
      const seq = Number(rest);
      // seq:0 is before every event: a replay from it covers the whole log.
      if (!/^\d+$/.test(rest) || !Number.isSafeInteger(seq)) throw new CheckpointArgumentError(`--at seq:N: expected a non-negative integer, got ${JSON.stringify(rest)}`);
      if (seq > lastSeq) throw new CheckpointArgumentError(`--at seq:${seq}: the log's last seq is ${lastSeq}`);
      return seq;
    }
    case 'time': {
      const ms = Date.parse(rest);
      if (rest === '' || !Number.isFinite(ms)) throw new CheckpointArgumentError(`--at time:ISO: expected an ISO 8601 time, got ${JSON.stringify(rest)}`);
      return Math.min(lastSeq, (await firstSeqReceivedAt(store, ms, timeline)) - 1);
    }
    default:
      throw new CheckpointArgumentError(`--at: expected ${CHECKPOINT_AT_FORMS}, got ${JSON.stringify(at)}`);
  }
}

/** Resolves `at` and keeps the checkpoint, replacing one of the same name. */
export async function setCheckpoint(store: EventStore, name: string, at: string, lastSeq: number, timeline: Timeline): Promise<CheckpointRecord> {
  checkName(name);
  const record: CheckpointRecord = { seq: await resolveCheckpointAt(store, at, lastSeq, timeline), setAt: new Date().toISOString(), at };
  await writeCheckpoint(store, name, record);
  return record;
}
