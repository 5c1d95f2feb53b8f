// Ingest benchmark (npm run bench:ingest): the same QoS 1 load against bare Aedes, edgebus
// (fsync durability unless --durability write) and mosquitto, alternated round by round on
// one machine, because
// single runs swing ±20–30 % (PERF-NOTES) and only side-by-side ratios are meaningful.
// Then an open-loop latency phase, peak RSS, the group-commit batch size and the SD-card
// wear (disk bytes written per event against the encoded event size).
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupAll, installCleanupHandlers, wasInterrupted } from './lib/children.js';
import { summariseProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { parseOptions, type BenchOptions } from './lib/options.js';
import { formatLatencyRound, formatProfile, formatSummary, formatThroughputRound, summarise, writeSummary } from './lib/report.js';
import { latencyRound, throughputRound, type LatencyRound, type LoadShape, type ThroughputRound } from './lib/rounds.js';
import { MOSQUITTO_BIN, mosquittoAvailable, ROOT, type TargetName } from './lib/targets.js';

/** Round r starts with a different target, so no target always runs first (or last). */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

/** The newest profile in the directory: the last throughput round's daemon. */
function latestProfile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  return files.at(-1) ?? null;
}

async function run(opts: BenchOptions): Promise<void> {
  const startedAt = new Date();
  let mosquittoSkipped: string | null = null;
  if (!opts.mosquitto) mosquittoSkipped = 'disabled with --no-mosquitto';
  else if (!mosquittoAvailable()) mosquittoSkipped = `${MOSQUITTO_BIN} not found (apt-get install mosquitto)`;
  if (mosquittoSkipped) say(`note: mosquitto ${mosquittoSkipped}`);
  const targets: TargetName[] = mosquittoSkipped ? ['aedes', 'floor', 'edgebus'] : ['aedes', 'floor', 'edgebus', 'mosquitto'];
  const shape: LoadShape = { connections: opts.connections, window: opts.window, warmup: opts.warmup, seconds: opts.seconds };
  let profileDir: string | null = null;
  if (opts.profile) {
    profileDir = join(ROOT, '.bench', `profile-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(profileDir, { recursive: true });
  }

  const tput: ThroughputRound[] = [];
  const lat: LatencyRound[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    say(`\nround ${round}/${opts.rounds}: throughput (closed loop, ${opts.connections} × ${opts.window} in flight)`);
    for (const name of rotate(targets, round - 1)) {
      const r = await throughputRound(name, round, shape, profileDir, opts.durability);
      tput.push(r);
      say(formatThroughputRound(r));
    }
    say(`round ${round}/${opts.rounds}: latency (open loop, ${opts.rate} msgs/s)`);
    for (const name of rotate(['aedes', 'edgebus'] as const, round - 1)) {
      const r = await latencyRound(name, round, shape, opts.rate, opts.durability);
      lat.push(r);
      say(formatLatencyRound(r));
    }
  }

  let profile: ProfileSummary | null = null;
  const profileFile = profileDir === null ? null : latestProfile(profileDir);
  if (profileFile !== null) profile = summariseProfile(profileFile);
  const summary = summarise(startedAt, opts, mosquittoSkipped, tput, lat, profile);
  say(formatSummary(summary));
  if (profile !== null) say(formatProfile(profile));
  say(`\nwrote ${writeSummary(ROOT, summary)}`);
}

installCleanupHandlers();
try {
  await run(parseOptions(process.argv.slice(2), process.env));
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench:ingest failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
