// `edgebus dlq list|retry [ID…]|purge [ID…]`: what was rejected or refused, why, and the
// raw bytes; sending entries through again; dropping them.
import type { Config } from '../config/types.js';
import { listRejected, purgeRejected, type RejectedRecord } from '../store/rejected.js';
import { RuntimeFailure, UsageError, type Io } from './args.js';
import { fetchLines, postJson, requireDaemon, withStore } from './store-access.js';

export interface DlqOptions {
  json?: boolean;
  limit?: string;
}

interface RetryResult {
  id: string;
  ok: boolean;
  detail: string;
}

export async function runDlq(config: Config, action: string | undefined, ids: string[], opts: DlqOptions, io: Io): Promise<void> {
  switch (action) {
    case 'list':
      if (ids.length) throw new UsageError('dlq list takes no ids (use --limit N)');
      return list(config, opts, io);
    case 'retry':
      return retry(config, ids, opts, io);
    case 'purge':
      return purge(config, ids, io);
    default:
      throw new UsageError(`dlq: expected list, retry or purge, got ${JSON.stringify(action ?? '')}`);
  }
}

async function list(config: Config, opts: DlqOptions, io: Io): Promise<void> {
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new UsageError(`--limit: expected a non-negative integer, got ${JSON.stringify(opts.limit)}`);
  const records = await withStore(config, (store) => listRejected(store, { limit }), async () => {
    const out: RejectedRecord[] = [];
    for await (const line of fetchLines(config, `/api/dlq${limit !== undefined ? `?limit=${limit}` : ''}`)) out.push(JSON.parse(line) as RejectedRecord);
    return out;
  });
  if (opts.json) {
    for (const r of records) io.out(JSON.stringify(r) + '\n');
    return;
  }
  io.out(['ID'.padEnd(26), 'TIME'.padEnd(24), 'REASON'.padEnd(18), 'TOPIC'.padEnd(32), 'DETAIL'].join('  ') + '\n');
  for (const r of records) io.out([r.id.padEnd(26), r.time.padEnd(24), r.reason.padEnd(18), r.topic.padEnd(32), r.detail].join('  ') + '\n');
  if (!records.length) io.err('the rejected store is empty\n');
}

/** Re-driving goes through the daemon: it owns the pipeline and the upstream link. */
async function retry(config: Config, ids: string[], opts: DlqOptions, io: Io): Promise<void> {
  requireDaemon(config, 'dlq retry');
  const { results } = await postJson<{ results: RetryResult[] }>(config, '/api/dlq/retry', ids.length ? { ids } : {});
  for (const r of results) io.out(opts.json ? JSON.stringify(r) + '\n' : `${r.ok ? 'ok  ' : 'kept'}  ${r.id}  ${r.detail}\n`);
  const failed = results.filter((r) => !r.ok).length;
  io.err(`${results.length - failed} of ${results.length} entries got through${failed ? `; ${failed} stay in the DLQ` : ''}\n`);
  if (failed && ids.length) throw new RuntimeFailure(`${failed} entries could not be re-driven`);
}

async function purge(config: Config, ids: string[], io: Io): Promise<void> {
  const body = ids.length ? { ids } : {};
  const purged = await withStore(config, (store) => purgeRejected(store, ids.length ? ids : null),
    async () => (await postJson<{ purged: number }>(config, '/api/dlq/purge', body)).purged);
  io.err(`purged ${purged} entr${purged === 1 ? 'y' : 'ies'}\n`);
}
