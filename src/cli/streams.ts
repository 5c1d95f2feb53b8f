// `edgebus streams`: one row per source — its epoch, the seqs and count of its events the
// store holds, when it was last seen, the gaps and resets recorded. NDJSON with --json.
import type { Config } from '../config/types.js';
import { readClockLog } from '../store/clock-log.js';
import { listStreams, type StreamSummary } from '../store/stream-list.js';
import type { Io } from './args.js';
import { fetchLines, withStore } from './store-access.js';

export interface StreamsOptions {
  json?: boolean;
}

const COLUMNS: [string, number][] = [['SOURCE', 20], ['EPOCH', 5], ['FIRST SEQ', 10], ['LAST SEQ', 10], ['COUNT', 8], ['LAST SEEN', 24], ['GAPS', 5], ['RESETS', 6]];

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 || i === 5 ? c.padEnd(COLUMNS[i][1]) : c.padStart(COLUMNS[i][1]))).join('  ').trimEnd();
}

const text = (v: number | string | null): string => (v === null ? '-' : String(v));

export async function runStreams(config: Config, opts: StreamsOptions, io: Io): Promise<void> {
  const rows = await withStore(config, async (store) => listStreams(store, (await readClockLog(store)).timeline), async () => {
    const out: StreamSummary[] = [];
    for await (const line of fetchLines(config, '/api/streams')) out.push(JSON.parse(line) as StreamSummary);
    return out;
  });
  if (opts.json) {
    for (const r of rows) io.out(JSON.stringify(r) + '\n');
    return;
  }
  io.out(row(COLUMNS.map(([name]) => name)) + '\n');
  for (const r of rows) io.out(row([r.source, text(r.epoch), text(r.firstSeq), text(r.lastSeq), text(r.count), text(r.lastSeen), text(r.gaps), text(r.resets)]) + '\n');
  if (!rows.length) io.err('no source has appended an event yet\n');
}
