// Memory benchmark (npm run bench:memory): the daemon's resident set against the budget of
// issue 14 — idle with the default config and the example rules, at a steady 5,000 msgs/s
// from 50 devices, at its peak under the saturating ingest load beside bare Aedes' peak in
// the same run, and before/after filling the dedup window with a million distinct ids (and
// after a restart onto that store): memory must not grow with what is stored.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanupAll, installCleanupHandlers, makeTempDir, removeTempDir, wasInterrupted } from './lib/children.js';
import { startDaemon, type DaemonProc } from './lib/daemon-proc.js';
import { publishWithIds } from './lib/id-publisher.js';
import { throughputRound } from './lib/rounds.js';
import { runLoad } from './lib/run-load.js';
import { median } from './lib/stats.js';
import { ROOT } from './lib/targets.js';

// The issue states MB (10^6 bytes); the figures here are MiB: 70 MB is 66.8 MiB.
export const MEMORY_GOALS = { idleMB: 70, steadyMB: 100, peakVsAedes: 1.5 } as const;
const MB_IN_MIB = 1e6 / 2 ** 20;

const USAGE = `usage: npm run bench:memory -- [--rounds N] [--idle-seconds S] [--steady-seconds S] [--ids N] [--skip steady,saturate,ids]`;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mib = (n: number) => `${n.toFixed(1)} MiB`;

interface Dirs { root: string; data: string; rules: string; devices: string }

function freshDirs(): Dirs {
  const root = makeTempDir('edgebus-bench-mem-');
  const devices = join(root, 'devices');
  mkdirSync(devices);
  // The example rules of the repository, as `npm start` from a checkout loads them.
  return { root, data: join(root, 'data'), rules: join(ROOT, 'rules'), devices };
}

async function withDaemon<T>(dirs: Dirs, use: (d: DaemonProc) => Promise<T>): Promise<T> {
  const d = await startDaemon({ dataDir: dirs.data, rulesDir: dirs.rules, devicesDir: dirs.devices });
  try {
    return await use(d);
  } finally {
    await d.stop();
  }
}

/** Resident set once start-up's garbage had `seconds` to go: what the daemon holds doing nothing. */
async function idleRss(d: DaemonProc, seconds: number): Promise<number> {
  await sleep(seconds * 1000);
  return d.rssMiB();
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' }, 'idle-seconds': { type: 'string' }, 'steady-seconds': { type: 'string' },
      ids: { type: 'string' }, skip: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return say(USAGE);
  const rounds = Number(values.rounds ?? process.env.BENCH_ROUNDS ?? 3);
  const idleSeconds = Number(values['idle-seconds'] ?? 10);
  const steadySeconds = Number(values['steady-seconds'] ?? 20);
  const ids = Number(values.ids ?? 1_000_000);
  const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
  for (const [k, v] of Object.entries({ rounds, idleSeconds, steadySeconds, ids })) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} must be a positive number\n${USAGE}`);
  }
  say(`bench:memory  ${rounds} rounds; RSS is VmRSS, peaks are VmHWM, in MiB; node flags ${process.execArgv.join(' ') || '(none)'} here, the daemon's from bin/edgebus.js`);

  const idle: number[] = [];
  const steadyPeak: number[] = [];
  const steadyEnd: number[] = [];
  for (let round = 1; round <= (skip.has('steady') ? 0 : rounds); round++) {
    const dirs = freshDirs();
    const r = await withDaemon(dirs, (d) => idleRss(d, idleSeconds));
    idle.push(r);
    say(`  round ${round}  idle ${idleSeconds} s after ready (default config, example rules)   ${mib(r)}`);
    const s = await withDaemon(dirs, async (d) => {
      const load = await runLoad({ port: d.brokerPort, connections: 50, window: 32, warmupSeconds: 2, seconds: steadySeconds, rate: 5000, clientPrefix: `mem-r${round}` });
      return { peak: d.peakRssMiB(), end: d.rssMiB(), rate: load.msgsPerSecond, stalls: load.windowStalls };
    });
    steadyPeak.push(s.peak);
    steadyEnd.push(s.end);
    say(`  round ${round}  steady 5,000 msgs/s × ${steadySeconds} s, 50 devices (${Math.round(s.rate)} msgs/s acked, ${s.stalls} stalls)   peak ${mib(s.peak)}, at end ${mib(s.end)}`);
    removeTempDir(dirs.root);
  }

  const aedesPeak: number[] = [];
  const edgebusPeak: number[] = [];
  if (!skip.has('saturate')) {
    const shape = { connections: 50, window: 32, warmup: 1, seconds: 5 };
    for (let round = 1; round <= rounds; round++) {
      for (const name of round % 2 ? (['aedes', 'edgebus'] as const) : (['edgebus', 'aedes'] as const)) {
        const r = await throughputRound(name, round, shape, null);
        (name === 'aedes' ? aedesPeak : edgebusPeak).push(r.peakRssMiB);
        say(`  round ${round}  saturating ingest  ${name.padEnd(8)} ${Math.round(r.msgsPerSecond).toLocaleString('en-US')} msgs/s   peak ${mib(r.peakRssMiB)}`);
      }
    }
  }

  let dedup: { before: number; after: number; afterRestart: number; restartPeak: number; seconds: number } | null = null;
  if (!skip.has('ids')) {
    const dirs = freshDirs();
    const first = await withDaemon(dirs, async (d) => {
      const before = await idleRss(d, idleSeconds);
      say(`  dedup window: RSS before ${mib(before)}; publishing ${ids.toLocaleString('en-US')} readings with distinct ids…`);
      const { seconds } = await publishWithIds(d.brokerPort, {
        total: ids, connections: 50, window: 32, prefix: 'mem',
        onProgress: (n) => say(`    ${n.toLocaleString('en-US')} acknowledged, RSS ${mib(d.rssMiB())}`),
      });
      const after = await idleRss(d, idleSeconds);
      return { before, after, seconds };
    });
    // The restart replays the rules' horizon of the log (all of it here: it was just written)
    // in the background; RSS is read once that is done and the daemon has idled.
    const restart = await withDaemon(dirs, async (d) => {
      const rebuilt = d.logLine(/^rules: state rebuilt/, 600_000);
      const msg = await rebuilt;
      say(`  dedup window, restarted: ${msg}; peak while rebuilding ${mib(d.peakRssMiB())}`);
      return { rss: await idleRss(d, idleSeconds), peak: d.peakRssMiB() };
    });
    dedup = { ...first, afterRestart: restart.rss, restartPeak: restart.peak };
    removeTempDir(dirs.root);
  }

  const checks: { what: string; value: number; goal: string; pass: boolean }[] = [];
  const idleMedian = median(idle);
  const steadyMedian = median(steadyPeak);
  say('\nSUMMARY');
  if (idle.length) {
    checks.push({ what: 'idle RSS (MiB), median', value: idleMedian, goal: `<= ${(MEMORY_GOALS.idleMB * MB_IN_MIB).toFixed(1)} (${MEMORY_GOALS.idleMB} MB)`, pass: idleMedian <= MEMORY_GOALS.idleMB * MB_IN_MIB });
    checks.push({ what: 'peak RSS at 5,000 msgs/s (MiB), median', value: steadyMedian, goal: `<= ${(MEMORY_GOALS.steadyMB * MB_IN_MIB).toFixed(1)} (${MEMORY_GOALS.steadyMB} MB)`, pass: steadyMedian <= MEMORY_GOALS.steadyMB * MB_IN_MIB });
    say(`  idle, ${idleSeconds} s after ready          median ${mib(idleMedian)}   (rounds ${idle.map((v) => v.toFixed(1)).join(' / ')})`);
    say(`  steady 5,000 msgs/s, peak         median ${mib(steadyMedian)}   (rounds ${steadyPeak.map((v) => v.toFixed(1)).join(' / ')}; at end ${steadyEnd.map((v) => v.toFixed(1)).join(' / ')})`);
  }
  if (aedesPeak.length) {
    const ratio = median(edgebusPeak) / median(aedesPeak);
    say(`  saturating ingest, peak           edgebus median ${mib(median(edgebusPeak))}, bare Aedes median ${mib(median(aedesPeak))}: ratio ${ratio.toFixed(2)}`);
    checks.push({ what: 'saturating peak RSS edgebus / bare Aedes', value: ratio, goal: `<= ${MEMORY_GOALS.peakVsAedes}`, pass: ratio <= MEMORY_GOALS.peakVsAedes });
  }
  if (dedup) {
    say(`  ${ids.toLocaleString('en-US')} ids in the dedup window (${dedup.seconds.toFixed(1)} s to publish): RSS before ${mib(dedup.before)}, after ${mib(dedup.after)}, after a restart ${mib(dedup.afterRestart)} (peak during its rules rebuild ${mib(dedup.restartPeak)})`);
    // Not growing with the window: what the ids add stays within what a steady load adds anyway.
    const grew = dedup.afterRestart - dedup.before;
    checks.push({ what: 'RSS after restart - before, 1M ids (MiB)', value: grew, goal: '<= 10', pass: grew <= 10 });
  }
  say('\nchecks');
  for (const c of checks) say(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.what.padEnd(44)} ${c.value.toFixed(2).padStart(8)}   goal ${c.goal}`);
}

installCleanupHandlers();
try {
  await run();
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench:memory failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
