// `edgebus replay --from …` (SPEC §1): where a replay starts. Every form names a point in
// the log; where it ends is the target's business (upstream: what it has acknowledged;
// rules: the log's end).
import { Timeline } from '../time/timeline.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, timeKey } from './keys.js';
import { seqOfId } from './log-reader.js';

export class ReplayArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayArgumentError';
  }
}

export type ReplayFrom =
  | { kind: 'checkpoint' }
  | { kind: 'all' }
  | { kind: 'seq'; seq: number }
  | { kind: 'time'; ms: number }
  | { kind: 'id'; id: string };

export const REPLAY_FROM_FORMS = 'checkpoint, all, seq:N, time:ISO or id:EVENT_ID';

export function parseReplayFrom(text: string): ReplayFrom {
  if (text === 'checkpoint' || text === 'all') return { kind: text };
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (head) {
    case 'seq': {
      const seq = Number(rest);
      if (rest === '' || !Number.isSafeInteger(seq) || seq < 1) throw new ReplayArgumentError(`--from seq:N: expected a positive integer, got ${JSON.stringify(rest)}`);
      return { kind: 'seq', seq };
    }
    case 'time': {
      const ms = Date.parse(rest);
      if (!Number.isFinite(ms)) throw new ReplayArgumentError(`--from time:ISO: expected an ISO 8601 time, got ${JSON.stringify(rest)}`);
      return { kind: 'time', ms };
    }
    case 'id':
      if (rest === '') throw new ReplayArgumentError('--from id:EVENT_ID: the event id is missing');
      return { kind: 'id', id: rest };
    default:
      throw new ReplayArgumentError(`--from: expected ${REPLAY_FROM_FORMS}, got ${JSON.stringify(text)}`);
  }
}

/**
 * The first seq a replay covers. `checkpoint` is where the target stands: the replay is then
 * empty. A `time:` is a wall-clock time, found through the corrected times of `timeline`.
 */
export async function replayStart(store: EventStore, from: ReplayFrom, checkpoint: number, timeline: Timeline = new Timeline()): Promise<number> {
  switch (from.kind) {
    case 'checkpoint':
      return checkpoint + 1;
    case 'all':
      return Math.max(1, await store.firstSeq());
    case 'seq':
      return from.seq;
    case 'time': {
      // The receive-time marks: the first commit received at or after that time.
      const g = timeline.gatewayTimeOf(from.ms);
      if (g === Infinity) return (await store.lastSeq()) + 1;
      const marks = await store.times.values({ gte: timeKey(Math.max(0, g)), limit: 1 }).all();
      return marks.length ? parseSeqKey(marks[0]) : (await store.lastSeq()) + 1;
    }
    case 'id': {
      const seq = await seqOfId(store, from.id);
      if (seq === null) throw new ReplayArgumentError(`--from id:${from.id}: no stored event has that id`);
      return seq;
    }
  }
}
