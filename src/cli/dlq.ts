// `edgebus dlq list`: what was rejected, why, and the raw bytes.
import type { Config } from '../config/types.js';
import { listRejected, type RejectedRecord } from '../store/rejected.js';
import { UsageError, type Io } from './args.js';
import { fetchLines, withStore } from './store-access.js';

export async function runDlq(config: Config, action: string | undefined, opts: { json?: boolean; limit?: string }, io: Io): Promise<void> {
  if (action !== 'list') throw new UsageError(`dlq: expected "list", got ${JSON.stringify(action ?? '')}`);
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
  io.out(['TIME'.padEnd(24), 'REASON'.padEnd(18), 'TOPIC'.padEnd(32), 'DETAIL'].join('  ') + '\n');
  for (const r of records) io.out([r.time.padEnd(24), r.reason.padEnd(18), r.topic.padEnd(32), r.detail].join('  ') + '\n');
  if (!records.length) io.err('the rejected store is empty\n');
}
