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

/** Name, width, and whether the column is text (left-aligned) rather than a number. */
const COLUMNS: [string, number, boolean][] = [
  ['SOURCE', 20, true], ['EPOCH', 5, false], ['FIRST SEQ', 10, false], ['LAST SEQ', 10, false],
  ['COUNT', 8, false], ['LAST SEEN', 24, true], ['GAPS', 5, false], ['RESETS', 6, false],
];

function row(cells: string[]): string {
  return cells.map((c, i) => (COLUMNS[i][2] ? c.padEnd(COLUMNS[i][1]) : c.padStart(COLUMNS[i][1]))).join('  ').trimEnd();
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
