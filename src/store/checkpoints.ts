// Named checkpoints (`edgebus checkpoint set|list|rm`): a name for a point in the log, kept
// in the store so it lasts across restarts and moves with the data dir. A checkpoint marks
// the last event already handled: `replay --from checkpoint:NAME` starts at the seq after it,
// as the forwarder's cursor does. The `checkpoints` sublevel is keyed by name; its values
// are JSON CheckpointRecords.
import { decodeEvent } from '../events/codec.js';
import type { EventStore } from './event-store.js';
import { readEvent } from './log-range.js';

/** Set by the user; the forwarder's cursors are listed beside them but live elsewhere. */
export interface CheckpointRecord {
  seq: number;
  /** Wall-clock ISO time of the `set`. */
  setAt: string;
  /** What `--at` said (`now`, `seq:N`, `time:ISO`). */
  at: string;
}

/** A checkpoint as `checkpoint list` shows it. */
export interface CheckpointView {
  name: string;
  seq: number;
  /** The timestamp of the event at `seq`; null when no event is held there (seq 0, pruned). */
  time: string | null;
  setAt: string | null;
  at: string | null;
  /** Seqs after it up to the log's last: what a replay from it would cover at most. */
  after: number;
  /** The forwarder's cursors: they move by themselves and cannot be set or removed. */
  readOnly: boolean;
  note?: string;
}

/** A read-only checkpoint the daemon knows (the forwarder's cursor, once per route). */
export interface CursorCheckpoint {
  name: string;
  seq: number;
  note?: string;
}

/** A request about checkpoints the caller got wrong (bad name, bad --at, unknown or read-only). */
export class CheckpointArgumentError extends Error {
  constructor(message: string, readonly notFound = false) {
    super(message);
    this.name = 'CheckpointArgumentError';
  }
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** The forwarder's cursor, and `upstream:<route>` for each upstream route. */
export const UPSTREAM_CHECKPOINT = 'upstream';

export function isCursorName(name: string): boolean {
  return name === UPSTREAM_CHECKPOINT || name.startsWith(UPSTREAM_CHECKPOINT + ':');
}

/** Throws unless `name` can be set or removed by the user. */
export function checkName(name: string): void {
  if (isCursorName(name)) throw new CheckpointArgumentError(`checkpoint ${JSON.stringify(name)} is the forwarder's cursor: it moves as upstream acknowledges events and cannot be set or removed`);
  if (!NAME.test(name)) throw new CheckpointArgumentError(`checkpoint name ${JSON.stringify(name)}: expected 1 to 64 of A-Z a-z 0-9 . _ -`);
}

export async function readCheckpoint(store: EventStore, name: string): Promise<CheckpointRecord | undefined> {
  const text = await store.checkpoints.get(name);
  return text === undefined ? undefined : (JSON.parse(text) as CheckpointRecord);
}

export async function readCheckpoints(store: EventStore): Promise<Map<string, CheckpointRecord>> {
  const out = new Map<string, CheckpointRecord>();
  for await (const [name, text] of store.checkpoints.iterator()) out.set(name, JSON.parse(text) as CheckpointRecord);
  return out;
}

/** Synced: a checkpoint is set rarely, and a user who saw it set expects it to be there. */
export async function writeCheckpoint(store: EventStore, name: string, record: CheckpointRecord): Promise<void> {
  checkName(name);
  const batch = store.newWriteBatch();
  batch.put(store.checkpoints.prefix + name, JSON.stringify(record));
  await batch.write(true);
}

/** Throws a not-found CheckpointArgumentError, naming the checkpoints there are, when there is none. */
export async function deleteCheckpoint(store: EventStore, name: string): Promise<void> {
  checkName(name);
  if ((await store.checkpoints.get(name)) === undefined) {
    throw new CheckpointArgumentError(`no checkpoint named ${JSON.stringify(name)} (known: ${knownNames([], (await readCheckpoints(store)).keys())})`, true);
  }
  const batch = store.newWriteBatch();
  batch.del(store.checkpoints.prefix + name);
  await batch.write(true);
}

/** The forwarder's cursors first, then the named checkpoints by name. */
export async function checkpointViews(store: EventStore, cursors: readonly CursorCheckpoint[]): Promise<CheckpointView[]> {
  const first = await store.firstSeq();
  const last = await store.lastSeq();
  const view = async (name: string, seq: number, rest: Pick<CheckpointView, 'setAt' | 'at' | 'readOnly' | 'note'>): Promise<CheckpointView> => {
    const bytes = seq > 0 ? await readEvent(store, seq) : undefined;
    // Counted as `status` counts events: from the first held seq (pruning's front) to the last.
    const after = Math.max(0, last - Math.max(seq, first - 1));
    const out: CheckpointView = { name, seq, time: bytes === undefined ? null : decodeEvent(bytes).timestamp, setAt: rest.setAt, at: rest.at, after, readOnly: rest.readOnly };
    if (rest.note !== undefined) out.note = rest.note;
    return out;
  };
  const out: CheckpointView[] = [];
  for (const c of cursors) out.push(await view(c.name, c.seq, { setAt: null, at: null, readOnly: true, note: c.note }));
  for (const [name, r] of await readCheckpoints(store)) out.push(await view(name, r.seq, { setAt: r.setAt, at: r.at, readOnly: false }));
  return out;
}

/** Every name a `--from checkpoint:NAME` could take, for an error that lists them. */
export function knownNames(cursors: readonly CursorCheckpoint[], named: Iterable<string>): string {
  const all = [...cursors.map((c) => c.name), ...named];
  return all.length ? all.join(', ') : 'none';
}
