// Turns the rounds into the summary: medians per target, the ratios and pass/fail against
// the issue's targets, as a plain-text table and as JSON for .bench/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { ProfileSummary } from './cpuprofile.js';
import type { BenchOptions } from './options.js';
import type { LatencyRound, ThroughputRound } from './rounds.js';
import { median } from './stats.js';
import type { TargetName } from './targets.js';

// Issue 14's goals, which superseded the earlier ones against bare Aedes and an absolute
// peak: the floor and mosquitto are measured in the same run, so the ratios survive noise.
export const GOALS = { edgebusVsFloor: 0.9, edgebusVsMosquitto: 1, p99Ms: 20, peakRssVsAedes: 1.5, eventsPerWrite: 100, diskVsEncoded: 3 } as const;

export interface TargetThroughput {
  medianMsgsPerSecond: number;
  rounds: number[];
  medianTargetCores: number;
  medianLoadgenCores: number;
  peakRssMiB: number;
}

export interface TargetLatency {
  rate: number;
  medianP50Ms: number;
  medianP99Ms: number;
  worstP99Ms: number;
  maxMs: number;
  medianMsgsPerSecond: number;
  windowStalls: number;
  peakRssMiB: number;
}

export interface Check {
  what: string;
  value: number;
  goal: string;
  pass: boolean;
}

export interface Summary {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string };
  options: BenchOptions;
  mosquittoSkipped: string | null;
  throughput: Partial<Record<TargetName, TargetThroughput>>;
  ratios: { edgebusVsAedes: number; floorVsAedes: number | null; edgebusVsFloor: number | null; mosquittoVsAedes: number | null; edgebusVsMosquitto: number | null; peakRssVsAedes: number };
  latency: Partial<Record<TargetName, TargetLatency>>;
  eventsPerWrite: { median: number; rounds: number[] };
  /** edgebus, full load: medians over rounds, per 1,000 events. */
  sdWear: { durability: 'fsync' | 'write'; diskBytesPer1000: number; encodedBytesPer1000: number; ratio: number; rounds: number[] };
  checks: Check[];
  rounds: { throughput: ThroughputRound[]; latency: LatencyRound[] };
  profile: ProfileSummary | null;
}

function throughputOf(rounds: ThroughputRound[]): TargetThroughput {
  return {
    medianMsgsPerSecond: median(rounds.map((r) => r.msgsPerSecond)),
    rounds: rounds.map((r) => Math.round(r.msgsPerSecond)),
    medianTargetCores: median(rounds.map((r) => r.targetCores)),
    medianLoadgenCores: median(rounds.map((r) => r.loadgenCores)),
    peakRssMiB: Math.max(...rounds.map((r) => r.peakRssMiB)),
  };
}

function latencyOf(rounds: LatencyRound[], rate: number): TargetLatency {
  return {
    rate,
    medianP50Ms: median(rounds.map((r) => r.p50Ms)),
    medianP99Ms: median(rounds.map((r) => r.p99Ms)),
    worstP99Ms: Math.max(...rounds.map((r) => r.p99Ms)),
    maxMs: Math.max(...rounds.map((r) => r.maxMs)),
    medianMsgsPerSecond: median(rounds.map((r) => r.msgsPerSecond)),
    windowStalls: rounds.reduce((n, r) => n + r.windowStalls, 0),
    peakRssMiB: Math.max(...rounds.map((r) => r.peakRssMiB)),
  };
}

export function summarise(startedAt: Date, options: BenchOptions, mosquittoSkipped: string | null,
  tput: ThroughputRound[], lat: LatencyRound[], profile: ProfileSummary | null): Summary {
  const throughput: Partial<Record<TargetName, TargetThroughput>> = {};
  const latency: Partial<Record<TargetName, TargetLatency>> = {};
  for (const name of ['aedes', 'floor', 'edgebus', 'mosquitto'] as const) {
    const t = tput.filter((r) => r.target === name);
    if (t.length) throughput[name] = throughputOf(t);
    const l = lat.filter((r) => r.target === name);
    if (l.length) latency[name] = latencyOf(l, options.rate);
  }
  const base = throughput.aedes?.medianMsgsPerSecond ?? Number.NaN;
  const ratios = {
    edgebusVsAedes: (throughput.edgebus?.medianMsgsPerSecond ?? Number.NaN) / base,
    floorVsAedes: throughput.floor ? throughput.floor.medianMsgsPerSecond / base : null,
    edgebusVsFloor: throughput.floor ? (throughput.edgebus?.medianMsgsPerSecond ?? Number.NaN) / throughput.floor.medianMsgsPerSecond : null,
    mosquittoVsAedes: throughput.mosquitto ? throughput.mosquitto.medianMsgsPerSecond / base : null,
    edgebusVsMosquitto: throughput.mosquitto ? (throughput.edgebus?.medianMsgsPerSecond ?? Number.NaN) / throughput.mosquitto.medianMsgsPerSecond : null,
    peakRssVsAedes: Number.NaN,
  };
  const perWrite = tput.filter((r) => r.eventsPerWrite !== null).map((r) => r.eventsPerWrite as number);
  const eventsPerWrite = { median: median(perWrite), rounds: perWrite.map((v) => Math.round(v)) };
  const wearRounds = tput.filter((r) => r.diskBytesPerEvent !== null && r.encodedBytesPerEvent !== null);
  const diskPerEvent = median(wearRounds.map((r) => r.diskBytesPerEvent as number));
  const encodedPerEvent = median(wearRounds.map((r) => r.encodedBytesPerEvent as number));
  const sdWear = {
    durability: options.durability,
    diskBytesPer1000: diskPerEvent * 1000, encodedBytesPer1000: encodedPerEvent * 1000, ratio: diskPerEvent / encodedPerEvent,
    rounds: wearRounds.map((r) => Math.round(((r.diskBytesPerEvent as number) / (r.encodedBytesPerEvent as number)) * 100) / 100),
  };
  // Peaks under the same saturating load in the same run: bare Aedes is what the broker alone costs.
  ratios.peakRssVsAedes = (throughput.edgebus?.peakRssMiB ?? Number.NaN) / (throughput.aedes?.peakRssMiB ?? Number.NaN);
  const p99 = latency.edgebus?.medianP99Ms ?? Number.NaN;
  const checks: Check[] = [
    ...(ratios.edgebusVsFloor !== null ? [{ what: 'throughput edgebus / floor', value: ratios.edgebusVsFloor, goal: `>= ${GOALS.edgebusVsFloor}`, pass: ratios.edgebusVsFloor >= GOALS.edgebusVsFloor }] : []),
    ...(ratios.edgebusVsMosquitto !== null ? [{ what: 'throughput edgebus / mosquitto', value: ratios.edgebusVsMosquitto, goal: `>= ${GOALS.edgebusVsMosquitto}`, pass: ratios.edgebusVsMosquitto >= GOALS.edgebusVsMosquitto }] : []),
    { what: `edgebus p99 at ${options.rate} msgs/s (ms)`, value: p99, goal: `<= ${GOALS.p99Ms}`, pass: p99 <= GOALS.p99Ms },
    { what: 'peak RSS edgebus / bare Aedes (saturating)', value: ratios.peakRssVsAedes, goal: `<= ${GOALS.peakRssVsAedes}`, pass: ratios.peakRssVsAedes <= GOALS.peakRssVsAedes },
    { what: 'events per LevelDB write', value: eventsPerWrite.median, goal: `>= ${GOALS.eventsPerWrite}`, pass: eventsPerWrite.median >= GOALS.eventsPerWrite },
    { what: `disk / encoded bytes (${options.durability})`, value: sdWear.ratio, goal: `<= ${GOALS.diskVsEncoded}`, pass: sdWear.ratio <= GOALS.diskVsEncoded },
  ];
  return {
    startedAt: startedAt.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    options, mosquittoSkipped, throughput, ratios, latency, eventsPerWrite, sdWear, checks,
    rounds: { throughput: tput, latency: lat }, profile,
  };
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const pad = (s: string, w: number) => s.padStart(w);

export function formatThroughputRound(r: ThroughputRound): string {
  const perWrite = r.eventsPerWrite === null ? '' : `  ${f0(r.eventsPerWrite)} events/write`;
  const wear = r.diskBytesPerEvent === null ? '' : `  disk ${f0(r.diskBytesPerEvent)} B/event (encoded ${f0(r.encodedBytesPerEvent ?? Number.NaN)})`;
  return `  round ${r.round}  ${r.target.padEnd(9)} ${pad(f0(r.msgsPerSecond), 8)} msgs/s  broker ${f2(r.targetCores)} cores  loadgen ${f2(r.loadgenCores)}  machine ${f2(r.machineCores)} cores  VmHWM ${r.peakRssMiB.toFixed(1)} MiB${perWrite}${wear}${r.unacked ? `  (${r.unacked} unacked at end)` : ''}`;
}

export function formatLatencyRound(r: LatencyRound): string {
  return `  round ${r.round}  ${r.target.padEnd(9)} ${pad(f0(r.msgsPerSecond), 6)} msgs/s  p50 ${f2(r.p50Ms)} ms  p99 ${f2(r.p99Ms)} ms  max ${f2(r.maxMs)} ms  (${r.samples} samples, ${r.windowStalls} window stalls)`;
}

export function formatSummary(s: Summary): string {
  const lines: string[] = [];
  const o = s.options;
  lines.push('', `SUMMARY  ${o.rounds} rounds × ${o.seconds} s (+${o.warmup} s warm-up), ${o.connections} connections × window ${o.window}, QoS 1, 120-byte JSON; ${s.machine.cpus} CPUs, Node ${s.machine.node}`);
  lines.push('', 'target       median msgs/s   vs Aedes   broker cores   per round');
  for (const [name, t] of Object.entries(s.throughput)) {
    const ratio = name === 'aedes' ? 1 : t.medianMsgsPerSecond / (s.throughput.aedes?.medianMsgsPerSecond ?? Number.NaN);
    lines.push(`${name.padEnd(12)} ${pad(f0(t.medianMsgsPerSecond), 13)}   ${pad(f2(ratio), 8)}   ${pad(f2(t.medianTargetCores), 12)}   ${t.rounds.map(f0).join(' / ')}`);
  }
  if (s.mosquittoSkipped) lines.push(`mosquitto    skipped: ${s.mosquittoSkipped}`);
  const mosq = s.ratios.mosquittoVsAedes === null ? 'n/a' : f2(s.ratios.mosquittoVsAedes);
  const vsMosq = s.ratios.edgebusVsMosquitto === null ? 'n/a' : f2(s.ratios.edgebusVsMosquitto);
  lines.push(`ratio of medians: edgebus/bare-Aedes ${f2(s.ratios.edgebusVsAedes)}, mosquitto/bare-Aedes ${mosq}, edgebus/mosquitto ${vsMosq} (goal >= ${GOALS.edgebusVsMosquitto})`);
  if (s.ratios.floorVsAedes !== null && s.ratios.edgebusVsFloor !== null) {
    lines.push(`durability floor (parse + CBOR + synced group commit, nothing else): floor/bare-Aedes ${f2(s.ratios.floorVsAedes)}, edgebus/floor ${f2(s.ratios.edgebusVsFloor)} (goal >= ${GOALS.edgebusVsFloor})`);
  }
  lines.push('', `latency at ${o.rate} msgs/s   median p50   median p99   worst p99    max   stalls`);
  for (const [name, l] of Object.entries(s.latency)) {
    lines.push(`${name.padEnd(23)} ${pad(f2(l.medianP50Ms), 10)} ms ${pad(f2(l.medianP99Ms), 9)} ms ${pad(f2(l.worstP99Ms), 8)} ms ${pad(f2(l.maxMs), 6)}   ${l.windowStalls}`);
  }
  lines.push('', 'peak RSS (VmHWM, max over rounds)');
  for (const name of ['edgebus', 'floor', 'aedes'] as const) {
    if (!s.throughput[name] && !s.latency[name]) continue;
    const rss = Math.max(s.throughput[name]?.peakRssMiB ?? 0, s.latency[name]?.peakRssMiB ?? 0);
    lines.push(`  ${name.padEnd(10)} ${rss.toFixed(1)} MiB`);
  }
  lines.push(`  ratio of saturating peaks edgebus/bare-Aedes ${f2(s.ratios.peakRssVsAedes)} (goal <= ${GOALS.peakRssVsAedes})`);
  lines.push('', `events per LevelDB write (edgebus, full load): median ${f0(s.eventsPerWrite.median)}  (rounds: ${s.eventsPerWrite.rounds.join(' / ')})`);
  const w = s.sdWear;
  lines.push('', `SD-card wear (edgebus, store.durability ${w.durability}, /proc/<pid>/io write_bytes over the measured window, compaction included)`);
  lines.push(`  disk bytes written per 1,000 events  ${pad(f0(w.diskBytesPer1000), 10)}`);
  lines.push(`  encoded bytes per 1,000 events       ${pad(f0(w.encodedBytesPer1000), 10)}   (average stored CBOR value)`);
  lines.push(`  ratio                                ${pad(f2(w.ratio), 10)}   (rounds: ${w.rounds.join(' / ')})`);
  lines.push('', 'checks');
  for (const c of s.checks) lines.push(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.what.padEnd(38)} ${pad(f2(c.value), 9)}   goal ${c.goal}`);
  return lines.join('\n');
}

export function formatProfile(p: ProfileSummary): string {
  const lines = ['', `edgebus CPU profile (${p.file}): ${f0(p.totalMs)} ms busy, ${f0(p.idleMs)} ms idle`, '  self ms      %   function   (location)'];
  for (const e of p.functions) lines.push(`  ${pad(f0(e.ms), 7)} ${pad(e.percent.toFixed(1), 6)}   ${e.name}   (${e.where})`);
  lines.push('  by module:');
  for (const e of p.modules) lines.push(`  ${pad(f0(e.ms), 7)} ${pad(e.percent.toFixed(1), 6)}   ${e.name}`);
  return lines.join('\n');
}

/** Writes .bench/ingest-<timestamp>.json under `root`; returns its path. */
export function writeSummary(root: string, s: Summary): string {
  const dir = join(root, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ingest-${s.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(s, null, 2) + '\n');
  return file;
}
