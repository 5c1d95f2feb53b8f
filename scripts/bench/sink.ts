// Sink benchmark (npm run bench:sink): events/s from the cloud broker into PostgreSQL with
// one and with two `edgebus sink` copies in one shared-subscription group, beside the
// ceiling of the same rows COPYed (and, for a client's view, bulk-inserted) into identical
// empty tables on the same server,
// all in the same run. Every round measures all three; ratios are taken within a round,
// then their median.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, installCleanupHandlers, machineBusySeconds, wasInterrupted } from './lib/children.js';
import { startPostgres } from './lib/postgres.js';
import { median } from './lib/stats.js';
import { buildLoad, probeBatch } from './lib/sink-batches.js';
import { parseSinkOptions, type SinkBenchOptions } from './lib/sink-options.js';
import { bulkInsertCeiling, copyCeiling, rowsCsv, sinkPhase, type CopyPhase, type PhaseResult } from './lib/sink-round.js';
import { loadConfig } from '../../src/config/load.js';
import type { SinkConfig } from '../../src/config/types.js';
import { mosquittoAvailable, MOSQUITTO_BIN, ROOT } from './lib/targets.js';

const GOALS = { oneVsCeiling: 0.5, twoVsOne: 1.6 } as const;

interface SinkRound {
  round: number;
  /** COPY … FROM a file, server-side: the ceiling the goal is set against. */
  ceiling: PhaseResult;
  /** The same rows by multi-row INSERT … unnest from this process: what a client's bulk insert gets. */
  bulkInsert: PhaseResult;
  one: CopyPhase;
  two: CopyPhase | null;
  /** Cores the whole machine was busy over the round: well above what the bench uses means others competed. */
  machineCores: number;
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

const k = (n: number): string => `${(n / 1000).toFixed(1)}k`;
const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

function formatCopies(p: CopyPhase): string {
  return `${p.copies} sink${p.copies > 1 ? 's' : ''} ${k(p.perSecond)}/s (${p.seconds.toFixed(2)} s; per copy ${p.perCopy.map(k).join(' + ')}; ${p.duplicates} duplicates; CPU per 1k events: sink ${p.cpuMsPer1000.toFixed(0)} ms, PostgreSQL ${p.postgresCpuMsPer1000.toFixed(0)} ms, mosquitto ${p.brokerCpuMsPer1000.toFixed(0)} ms; ${p.cores.toFixed(2)} cores busy)`;
}

/** The `sink:` values a config that sets only the url gets. */
function shippedSinkDefaults(): SinkConfig {
  const dir = mkdtempSync(join(tmpdir(), 'edgebus-bench-sink-defaults-'));
  try {
    const file = join(dir, 'edgebus.yaml');
    writeFileSync(file, 'sink:\n  url: mqtt://127.0.0.1:1883\n');
    return loadConfig({ file, env: {} }).config.sink!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(opts: SinkBenchOptions): Promise<void> {
  if (!mosquittoAvailable()) throw new Error(`${MOSQUITTO_BIN} not found (apt-get install mosquitto): the sink needs a broker with shared subscriptions`);
  const startedAt = new Date();
  say(`sink benchmark: ${opts.events} events in batches of ${opts.batchSize} from ${opts.gateways} gateways; ${opts.rounds} round${opts.rounds > 1 ? 's' : ''}; ceilings = server-side COPY … FROM a CSV file, and multi-row INSERT … unnest (${opts.chunk} rows per statement, one transaction)`);
  // What each copy runs with, the shipped defaults unless a flag overrides them: the figures hold for these.
  const defaults = shippedSinkDefaults();
  const settings = { inflight: opts.inflight, connections: opts.connections };
  const sinkSettings = { connections: opts.connections ?? defaults.connections, inflight: opts.inflight ?? defaults.inflight };
  say(`  each sink copy: connections ${opts.connections ?? `${defaults.connections} (default)`}, inflight ${opts.inflight ?? `${defaults.inflight} (default)`}`);
  const load = buildLoad(opts.events, opts.batchSize, opts.gateways);
  const bytes = load.batches.reduce((s, b) => s + b.payload.length, 0);
  say(`  ${load.batches.length} CBOR batches, ${(bytes / 1024 / 1024).toFixed(1)} MiB, built by the forwarder's encoder`);
  const pgServer = await startPostgres();
  const rounds: SinkRound[] = [];
  try {
    // A fresh server's first bulk insert pays for cold caches and catalog lookups: not the ceiling.
    const csv = pgServer.serverFile('rows.csv', rowsCsv(load));
    await copyCeiling(pgServer.url, 'bench_warmup', csv, load.events);
    for (let round = 1; round <= opts.rounds; round++) {
      const busy0 = machineBusySeconds();
      const t0 = Date.now();
      const ceiling = await copyCeiling(pgServer.url, `bench_r${round}_copy`, csv, load.events);
      const bulkInsert = await bulkInsertCeiling(pgServer.url, `bench_r${round}_insert`, load, opts.chunk);
      const one = await sinkPhase({ copies: 1, pgUrl: pgServer.url, pgCpu: pgServer.cpuSeconds, table: `bench_r${round}_one`, load, settings, probe: probeBatch });
      const two = opts.two ? await sinkPhase({ copies: 2, pgUrl: pgServer.url, pgCpu: pgServer.cpuSeconds, table: `bench_r${round}_two`, load, settings, probe: probeBatch }) : null;
      const machineCores = (machineBusySeconds() - busy0) / ((Date.now() - t0) / 1000);
      const r: SinkRound = { round, ceiling, bulkInsert, one, two, machineCores };
      rounds.push(r);
      say(`  r${round}: COPY ${k(ceiling.perSecond)}/s (${ceiling.seconds.toFixed(2)} s) | bulk insert ${k(bulkInsert.perSecond)}/s | ${formatCopies(one)}${two ? ` | ${formatCopies(two)}` : ''}` +
        ` | one/COPY ${(one.perSecond / ceiling.perSecond).toFixed(2)}x${two ? ` two/one ${(two.perSecond / one.perSecond).toFixed(2)}x` : ''} | machine busy ${machineCores.toFixed(2)} cores`);
    }
  } finally {
    pgServer.destroy();
  }
  const m = (f: (r: SinkRound) => number | null): number => median(rounds.map(f).filter((v): v is number => v !== null));
  const summary = {
    ceilingPerSecond: m((r) => r.ceiling.perSecond),
    bulkInsertPerSecond: m((r) => r.bulkInsert.perSecond),
    oneVsBulkInsert: m((r) => r.one.perSecond / r.bulkInsert.perSecond),
    onePerSecond: m((r) => r.one.perSecond),
    twoPerSecond: opts.two ? m((r) => r.two?.perSecond ?? null) : null,
    oneVsCeiling: m((r) => r.one.perSecond / r.ceiling.perSecond),
    twoVsOne: opts.two ? m((r) => (r.two ? r.two.perSecond / r.one.perSecond : null)) : null,
    oneCpuMsPer1000: m((r) => r.one.cpuMsPer1000),
  };
  say('');
  say(`median of ${rounds.length} round${rounds.length > 1 ? 's' : ''}:`);
  say(`  COPY ceiling ${k(summary.ceilingPerSecond)} events/s; bulk insert ${k(summary.bulkInsertPerSecond)}/s; one sink ${k(summary.onePerSecond)}/s${summary.twoPerSecond === null ? '' : `; two sinks ${k(summary.twoPerSecond)}/s`}`);
  say(`  ${pass(summary.oneVsCeiling >= GOALS.oneVsCeiling)}  one sink / COPY      ${summary.oneVsCeiling.toFixed(2)}x   goal >= ${GOALS.oneVsCeiling}`);
  say(`        one sink / bulk insert ${summary.oneVsBulkInsert.toFixed(2)}x`);
  if (summary.twoVsOne !== null) say(`  ${pass(summary.twoVsOne >= GOALS.twoVsOne)}  two sinks / one sink ${summary.twoVsOne.toFixed(2)}x   goal >= ${GOALS.twoVsOne}`);
  say(`  (the machine's other load shows in "machine busy"; a shared VM's figures move by tens of percent between runs)`);
  const dir = join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sink-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ startedAt: startedAt.toISOString(), options: opts, sinkSettings, batches: load.batches.length, batchBytes: bytes, goals: GOALS, summary, rounds }, null, 2) + '\n');
  say(`\nwrote ${file}`);
}

installCleanupHandlers();
try {
  await run(parseSinkOptions(process.argv.slice(2), process.env));
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench:sink failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
