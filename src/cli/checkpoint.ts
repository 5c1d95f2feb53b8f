// `edgebus checkpoint set NAME [--at now|seq:N|time:ISO]`, `checkpoint list [--json]`,
// `checkpoint rm NAME`: named points in the log that `replay --from checkpoint:NAME` starts
// after. The store directly when the daemon is stopped, its HTTP API when it runs.
import type { Config } from '../config/types.js';
import { readClockLog } from '../store/clock-log.js';
import { setCheckpoint } from '../store/checkpoint-at.js';
import { CheckpointArgumentError, checkpointViews, deleteCheckpoint, type CheckpointView } from '../store/checkpoints.js';
import type { EventStore } from '../store/event-store.js';
import { readCursor } from '../upstream/cursor.js';
import { cursorCheckpoints } from '../upstream/cursor-checkpoints.js';
import { UsageError, type Io } from './args.js';
import { requestJson, withStore } from './store-access.js';

export interface CheckpointOptions {
  at?: string;
  json?: boolean;
}

export async function runCheckpoint(config: Config, action: string | undefined, args: string[], opts: CheckpointOptions, io: Io): Promise<void> {
  try {
    switch (action) {
      case 'list':
        if (args.length) throw new UsageError('checkpoint list takes no names');
        return await list(config, opts, io);
      case 'set':
        return await set(config, nameOf('set', args), opts.at ?? 'now', io);
      case 'rm':
        return await remove(config, nameOf('rm', args), io);
      default:
        throw new UsageError(`checkpoint: expected set, list or rm, got ${JSON.stringify(action ?? '')}`);
    }
  } catch (err) {
    if (err instanceof CheckpointArgumentError) throw new UsageError(err.message);
    throw err;
  }
}

function nameOf(action: string, args: string[]): string {
  if (args.length !== 1) throw new UsageError(`checkpoint ${action}: expected one NAME, got ${args.length}`);
  return args[0];
}

const path = (name: string) => `/api/checkpoints/${encodeURIComponent(name)}`;

async function localViews(config: Config, store: EventStore): Promise<CheckpointView[]> {
  return checkpointViews(store, cursorCheckpoints(config, await readCursor(store)));
}

async function list(config: Config, opts: CheckpointOptions, io: Io): Promise<void> {
  const views = await withStore(config, (store) => localViews(config, store),
    async () => (await requestJson<{ checkpoints: CheckpointView[] }>(config, 'GET', '/api/checkpoints')).checkpoints);
  if (opts.json) {
    for (const v of views) io.out(JSON.stringify(v) + '\n');
    return;
  }
  io.out(['NAME'.padEnd(24), 'SEQ'.padStart(10), 'TIME'.padEnd(24), 'SET AT'.padEnd(24), 'AFTER'.padStart(8), 'NOTE'].join('  ') + '\n');
  for (const v of views) {
    const note = v.note ?? (v.at === null ? '' : `--at ${v.at}`);
    io.out([v.name.padEnd(24), String(v.seq).padStart(10), (v.time ?? '-').padEnd(24), (v.setAt ?? '-').padEnd(24), String(v.after).padStart(8), note].join('  ') + '\n');
  }
  if (!views.length) io.err('no checkpoints\n');
}

async function set(config: Config, name: string, at: string, io: Io): Promise<void> {
  const view = await withStore(config, async (store) => {
    await setCheckpoint(store, name, at, await store.lastSeq(), (await readClockLog(store)).timeline);
    return (await checkpointViews(store, [])).find((v) => v.name === name)!;
  }, async () => (await requestJson<{ checkpoint: CheckpointView }>(config, 'PUT', path(name), { at })).checkpoint);
  io.out(`checkpoint ${view.name} at seq ${view.seq}${view.time === null ? '' : ` (${view.time})`}, ${view.after} events after it\n`);
}

async function remove(config: Config, name: string, io: Io): Promise<void> {
  await withStore(config, (store) => deleteCheckpoint(store, name),
    async () => void (await requestJson<{ removed: string }>(config, 'DELETE', path(name))));
  io.out(`removed checkpoint ${name}\n`);
}
