// `edgebus replay --from …` (SPEC §1): where a replay starts. Every form names a point in
// the log; where it ends is the target's business (upstream: what it has acknowledged;
// rules: the log's end).
import { Timeline } from '../time/timeline.js';
import { knownNames, readCheckpoint, readCheckpoints, type CursorCheckpoint } from './checkpoints.js';
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
  | { kind: 'named'; name: string }
  | { kind: 'all' }
  | { kind: 'seq'; seq: number }
  | { kind: 'time'; ms: number }
  | { kind: 'id'; id: string };

export const REPLAY_FROM_FORMS = 'checkpoint, checkpoint:NAME, all, seq:N, time:ISO or id:EVENT_ID';

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
    case 'checkpoint':
      if (rest === '') throw new ReplayArgumentError('--from checkpoint:NAME: the checkpoint name is missing');
      return { kind: 'named', name: rest };
    case 'id':
      if (rest === '') throw new ReplayArgumentError('--from id:EVENT_ID: the event id is missing');
      return { kind: 'id', id: rest };
    default:
      throw new ReplayArgumentError(`--from: expected ${REPLAY_FROM_FORMS}, got ${JSON.stringify(text)}`);
  }
}

/** What a replay's start depends on beyond the log. */
export interface ReplayContext {
  /** Where the target stands: bare `checkpoint` starts after it. */
  checkpoint: number;
  /** The clock's segments: a `time:` is a wall-clock time, found through corrected times. */
  timeline?: Timeline;
  /** The forwarder's cursors, which `checkpoint:upstream` and `checkpoint:upstream:<route>` name. */
  cursors?: readonly CursorCheckpoint[];
  /** Told when the start is not where the user asked (a checkpoint older than the log). */
  warn?: (message: string) => void;
}

/**
 * The first seq a replay covers. `checkpoint` is where the target stands: the replay is then
 * empty. A named checkpoint marks the last event handled: the replay starts after it.
 */
export async function replayStart(store: EventStore, from: ReplayFrom, ctx: ReplayContext): Promise<number> {
  switch (from.kind) {
    case 'checkpoint':
      return ctx.checkpoint + 1;
    case 'named':
      return namedStart(store, from.name, ctx);
    case 'all':
      return Math.max(1, await store.firstSeq());
    case 'seq':
      return from.seq;
    case 'time':
      return firstSeqReceivedAt(store, from.ms, ctx.timeline ?? new Timeline());
    case 'id': {
      const seq = await seqOfId(store, from.id);
      if (seq === null) throw new ReplayArgumentError(`--from id:${from.id}: no stored event has that id`);
      return seq;
    }
  }
}

/**
 * The first seq of the commits received at or after wall-clock `ms` (through the corrected
 * times of `timeline`); the seq after the log's last when none was.
 */
export async function firstSeqReceivedAt(store: EventStore, ms: number, timeline: Timeline): Promise<number> {
  const g = timeline.gatewayTimeOf(ms);
  if (g === Infinity) return (await store.lastSeq()) + 1;
  const marks = await store.times.values({ gte: timeKey(Math.max(0, g)), limit: 1 }).all();
  return marks.length ? parseSeqKey(marks[0]) : (await store.lastSeq()) + 1;
}

/**
 * After a named checkpoint. Retention may have pruned the events right after it: the replay
 * then starts at the first event held, and says so.
 */
async function namedStart(store: EventStore, name: string, ctx: ReplayContext): Promise<number> {
  const cursors = ctx.cursors ?? [];
  const seq = cursors.find((c) => c.name === name)?.seq ?? (await readCheckpoint(store, name))?.seq;
  if (seq === undefined) {
    const named = (await readCheckpoints(store)).keys();
    throw new ReplayArgumentError(`--from checkpoint:${name}: no such checkpoint (known: ${knownNames(cursors, named)})`);
  }
  const first = await store.firstSeq();
  if (first > seq + 1) {
    ctx.warn?.(`checkpoint ${name} is at seq ${seq}, but the log now starts at seq ${first} (seqs ${seq + 1} to ${first - 1} were pruned): replaying from seq ${first}`);
    return first;
  }
  return seq + 1;
}
