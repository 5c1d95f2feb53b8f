// Drain benchmark (npm run bench:drain): how fast a backlog built while the upstream link
// was cut leaves once it returns, against two ceilings measured in the same run on the same
// events — a raw LevelDB scan of them and an MQTT.js client publishing the same pre-encoded
// batches to the same mosquitto — with the daemon's RSS while it drains and the latency of
// a live alert raised just after the link returns. Rounds alternate nothing: each backlog
// size gets its own rounds, and ratios are taken within a round, then their median.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, installCleanupHandlers, wasInterrupted } from './lib/children.js';
import { LARGE_BACKLOG, parseDrainOptions, type DrainOptions } from './lib/drain-options.js';
import type { HeapFigures } from './lib/drain-daemon.js';
import { drainRound, type DrainRound } from './lib/drain-round.js';
import { formatProfile } from './lib/report.js';
import { median } from './lib/stats.js';
import { mosquittoAvailable, MOSQUITTO_BIN, ROOT } from './lib/targets.js';

const GOALS = { drainVsScan: 0.5, drainVsScanMoonshot: 0.8, rssMiB: 100, alertMs: 1000 } as const;
/** RSS counts as flat when the last quarter's median is within this of the first quarter's. */
const FLAT_MIB = 10;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

const k = (n: number): string => `${Math.round(n / 1000)}k`;
const ms = (n: number | null): string => (n === null ? 'n/a' : `${Math.round(n)} ms`);

const heap = (h: HeapFigures): string => `${h.heapUsed.toFixed(0)}/${h.heapTotal.toFixed(0)}/${h.external.toFixed(0)} (old ${h.oldSpaceUsed.toFixed(0)}, new ${h.newSpaceUsed.toFixed(0)})`;

function formatRound(r: DrainRound): string {
  return `  ${k(r.events)} r${r.round}: fill ${k(r.fillPerSecond)}/s; backlog ${r.backlog} drained in ${r.drainSeconds.toFixed(2)} s = ${k(r.drainPerSecond)} events/s, daemon CPU ${r.daemonCpuMicrosPerEvent.toFixed(2)} µs/event` +
    ` | scan ${k(r.scan.perSecond)}/s (${r.scan.events}) | publish ${k(r.publish.perSecond)}/s (${r.publish.events})` +
    ` | drain/scan ${(r.drainPerSecond / r.scan.perSecond).toFixed(2)}x drain/publish ${(r.drainPerSecond / r.publish.perSecond).toFixed(2)}x` +
    ` | link up→connected ${ms(r.reconnectMs)} →first batch ${ms(r.firstBatchMs)} →alert ${ms(r.alertMs)}` +
    ` | RSS before ${r.rssBeforeMiB.toFixed(0)} peak ${r.rssPeakMiB.toFixed(0)} first¼ ${r.rssFirstQuarterMiB.toFixed(0)} last¼ ${r.rssLastQuarterMiB.toFixed(0)} MiB (anon ${r.anonFirstQuarterMiB.toFixed(0)}→${r.anonLastQuarterMiB.toFixed(0)}, mapped files ${r.fileFirstQuarterMiB.toFixed(0)}→${r.fileLastQuarterMiB.toFixed(0)}; ${r.rssSamples} samples)` +
    ` | idle RSS ${r.rssIdle.total.toFixed(0)} (anon ${r.rssIdle.anon.toFixed(0)}, files ${r.rssIdle.file.toFixed(0)}); LevelDB tables mapped ${r.tablesBeforeMiB.toFixed(0)} → ${r.tablesAfterMiB.toFixed(0)} MiB` +
    ` | V8 heap used/committed/external ${heap(r.heapBefore)} → ${r.heapAfter ? heap(r.heapAfter) : 'n/a'} MiB` +
    ` | subscriber saw ${r.seenEvents} events from batch #${r.firstBatchNumber ?? '-'}`;
}

interface SizeSummary {
  events: number;
  rounds: number;
  drainPerSecond: number;
  scanPerSecond: number;
  publishPerSecond: number;
  drainVsScan: number;
  drainVsPublish: number;
  daemonCpuMicrosPerEvent: number;
  firstBatchMs: number;
  alertMs: number;
  alertWorstMs: number;
  rssPeakMiB: number;
  rssFirstQuarterMiB: number;
  rssLastQuarterMiB: number;
  anonFirstQuarterMiB: number;
  anonLastQuarterMiB: number;
  fileFirstQuarterMiB: number;
  fileLastQuarterMiB: number;
}

function summarise(events: number, rs: readonly DrainRound[]): SizeSummary {
  const m = (f: (r: DrainRound) => number | null): number => median(rs.map(f).filter((v): v is number => v !== null));
  return {
    events, rounds: rs.length,
    drainPerSecond: m((r) => r.drainPerSecond),
    scanPerSecond: m((r) => r.scan.perSecond),
    publishPerSecond: m((r) => r.publish.perSecond),
    drainVsScan: m((r) => r.drainPerSecond / r.scan.perSecond),
    drainVsPublish: m((r) => r.drainPerSecond / r.publish.perSecond),
    daemonCpuMicrosPerEvent: m((r) => r.daemonCpuMicrosPerEvent),
    firstBatchMs: m((r) => r.firstBatchMs),
    alertMs: m((r) => r.alertMs),
    alertWorstMs: Math.max(...rs.map((r) => r.alertMs ?? Number.POSITIVE_INFINITY)),
    rssPeakMiB: Math.max(...rs.map((r) => r.rssPeakMiB)),
    rssFirstQuarterMiB: m((r) => r.rssFirstQuarterMiB),
    rssLastQuarterMiB: m((r) => r.rssLastQuarterMiB),
    anonFirstQuarterMiB: m((r) => r.anonFirstQuarterMiB),
    anonLastQuarterMiB: m((r) => r.anonLastQuarterMiB),
    fileFirstQuarterMiB: m((r) => r.fileFirstQuarterMiB),
    fileLastQuarterMiB: m((r) => r.fileLastQuarterMiB),
  };
}

function formatSummary(s: SizeSummary): string[] {
  const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  const flat = s.rssLastQuarterMiB - s.rssFirstQuarterMiB <= FLAT_MIB;
  return [
    `backlog ${k(s.events)} (median of ${s.rounds} round${s.rounds > 1 ? 's' : ''}):`,
    `  drain ${k(s.drainPerSecond)} events/s; scan ceiling ${k(s.scanPerSecond)}/s; publish ceiling ${k(s.publishPerSecond)}/s`,
    `  drain/scan ${s.drainVsScan.toFixed(2)}x  [goal >= ${GOALS.drainVsScan}x: ${pass(s.drainVsScan >= GOALS.drainVsScan)}; moonshot ${GOALS.drainVsScanMoonshot}x: ${pass(s.drainVsScan >= GOALS.drainVsScanMoonshot)}]`,
    `  drain/publish ${s.drainVsPublish.toFixed(2)}x`,
    `  daemon CPU while draining ${s.daemonCpuMicrosPerEvent.toFixed(2)} µs/event (user + system, all threads: steadier than the rates on a shared machine)`,
    `  link up → first batch at mosquitto ${ms(s.firstBatchMs)}; → live alert at mosquitto ${ms(s.alertMs)} (worst ${ms(s.alertWorstMs)})  [goal <= ${GOALS.alertMs} ms: ${pass(s.alertWorstMs <= GOALS.alertMs)}]`,
    `  daemon RSS while draining: peak ${s.rssPeakMiB.toFixed(0)} MiB  [goal <= ${GOALS.rssMiB}: ${pass(s.rssPeakMiB <= GOALS.rssMiB)}]; first quarter ${s.rssFirstQuarterMiB.toFixed(0)}, last quarter ${s.rssLastQuarterMiB.toFixed(0)} MiB  [flat within ${FLAT_MIB} MiB: ${pass(flat)}]`,
    `    of which heaps (RssAnon) ${s.anonFirstQuarterMiB.toFixed(0)} → ${s.anonLastQuarterMiB.toFixed(0)} MiB, mapped LevelDB tables and code (RssFile) ${s.fileFirstQuarterMiB.toFixed(0)} → ${s.fileLastQuarterMiB.toFixed(0)} MiB`,
  ];
}

async function run(opts: DrainOptions): Promise<void> {
  if (!mosquittoAvailable()) throw new Error(`${MOSQUITTO_BIN} not found (apt-get install mosquitto): the drain needs a real upstream broker`);
  const startedAt = new Date();
  let profileDir: string | null = null;
  if (opts.profile) {
    profileDir = join(ROOT, '.bench', `drain-profile-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(profileDir, { recursive: true });
  }
  const settings = `connections ${opts.connections} × window ${opts.window}; inflight ${opts.inflight ?? 'default'}; batch.maxEvents ${opts.maxEvents ?? 'default'}; link back ${opts.settleSeconds} s after the backlog's last reading`;
  say(`drain benchmark: backlogs ${opts.backlogs.join(', ')}; ${settings}`);
  const all: DrainRound[] = [];
  const summaries: SizeSummary[] = [];
  for (const events of opts.backlogs) {
    const rounds = events > LARGE_BACKLOG ? opts.largeRounds : opts.rounds;
    const rs: DrainRound[] = [];
    for (let round = 1; round <= rounds; round++) {
      const r = await drainRound({ events, round, connections: opts.connections, window: opts.window, inflight: opts.inflight, maxEvents: opts.maxEvents, profileDir, settleSeconds: opts.settleSeconds });
      rs.push(r);
      say(formatRound(r));
    }
    all.push(...rs);
    summaries.push(summarise(events, rs));
  }
  say('');
  for (const s of summaries) for (const line of formatSummary(s)) say(line);
  const profiled = all.filter((r) => r.profile !== null).at(-1);
  if (profiled?.profile) say(formatProfile(profiled.profile) + `\n  (the drain only: link up to backlog 0 of the ${k(profiled.events)} round ${profiled.round})`);
  const dir = join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `drain-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ startedAt: startedAt.toISOString(), options: opts, summaries, rounds: all }, null, 2) + '\n');
  say(`\nwrote ${file}`);
}

installCleanupHandlers();
try {
  await run(parseDrainOptions(process.argv.slice(2), process.env));
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench:drain failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
