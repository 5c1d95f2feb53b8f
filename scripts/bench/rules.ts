// Rules benchmark (npm run bench:rules): what loaded rules cost the ingest path, and how
// long an alert takes. Throughput: the ingest benchmark's closed-loop QoS 1 load against
// edgebus with 0, 100 and 1,000 rules loaded — ten of them matching the load, the rest
// matching other sensors — alternated round by round. Latency: an open-loop background load
// at a fixed rate plus marker readings that each raise an alert; the time from a marker's
// PUBACK to its alert arriving on the local broker.
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { cleanupAll, installCleanupHandlers, wasInterrupted } from './lib/children.js';
import { runLoad } from './lib/run-load.js';
import { median, percentile } from './lib/stats.js';
import { MARKER_RULE, ruleSet } from './lib/rule-sets.js';
import { startTarget } from './lib/targets.js';

interface Options { rounds: number; seconds: number; warmup: number; connections: number; window: number; rate: number; markers: number }

function options(argv: string[]): Options {
  const o: Options = { rounds: 3, seconds: 5, warmup: 1, connections: 50, window: 32, rate: 5000, markers: 100 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in o) || !Number.isFinite(value) || value <= 0) throw new Error(`usage: npm run bench:rules -- [--rounds N] [--seconds S] [--warmup S] [--connections N] [--window N] [--rate MSGS_PER_S] [--markers PER_S]; got ${argv[i]} ${argv[i + 1]}`);
    o[key] = value;
  }
  return o;
}

const say = (line: string) => process.stdout.write(line + '\n');

async function throughput(o: Options, rules: number, round: number): Promise<number> {
  const target = await startTarget('edgebus', { cpuProfileDir: null, rules: ruleSet(rules) });
  try {
    const r = await runLoad({ port: target.brokerPort, connections: o.connections, window: o.window, warmupSeconds: o.warmup, seconds: o.seconds, rate: null, clientPrefix: `rules-${rules}-r${round}` });
    return r.msgsPerSecond;
  } finally {
    await target.stop();
  }
}

/** Marker readings alternate 0 (re-arms the rule) and 999 (raises); each raise is timed. */
async function latency(o: Options, round: number): Promise<number[]> {
  const target = await startTarget('edgebus', { cpuProfileDir: null, rules: { 'marker.yaml': MARKER_RULE, ...ruleSet(1000) } });
  const url = `mqtt://127.0.0.1:${target.brokerPort}`;
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const acked = new Map<number, number>();
  const samples: number[] = [];
  sub.on('message', (topic) => {
    const at = performance.now();
    const mark = Number(topic.slice(topic.lastIndexOf('/') + 1));
    const sent = acked.get(mark);
    if (sent !== undefined) samples.push(at - sent);
  });
  await sub.subscribeAsync('alerts/marker/+', { qos: 1 });
  let measuring = false;
  let running = true;
  // One marker pair at a time: a second 0 landing between another pair's 0 and 999 would
  // leave that 999 inside an incident already raised.
  const markers = (async () => {
    for (let m = 1; running; m++) {
      try {
        await pub.publishAsync('sensors/marker/temperature', JSON.stringify({ value: 0 }), { qos: 1 });
        await pub.publishAsync('sensors/marker/temperature', JSON.stringify({ value: 999, mark: m }), { qos: 1 });
      } catch {
        return; // the run ended under it
      }
      if (measuring) acked.set(m, performance.now());
      await new Promise((r) => setTimeout(r, 1000 / o.markers));
    }
  })();
  try {
    await runLoad({
      port: target.brokerPort, connections: o.connections, window: o.window, warmupSeconds: o.warmup, seconds: o.seconds, rate: o.rate, clientPrefix: `rules-lat-r${round}`,
    }, { onMeasuring: () => (measuring = true), onMeasured: () => (measuring = false) });
  } finally {
    running = false;
    await markers;
    await pub.endAsync();
    await sub.endAsync();
    await target.stop();
  }
  return samples;
}

async function run(o: Options): Promise<void> {
  const counts = [0, 100, 1000];
  const tput = new Map<number, number[]>(counts.map((c) => [c, []]));
  const lat: number[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const order = [...counts.slice((round - 1) % 3), ...counts.slice(0, (round - 1) % 3)];
    for (const n of order) {
      const v = await throughput(o, n, round);
      tput.get(n)!.push(v);
      say(`  round ${round}  ${String(n).padStart(4)} rules  ${Math.round(v).toLocaleString('en-US').padStart(8)} msgs/s`);
    }
    const s = await latency(o, round);
    lat.push(...s);
    const sorted = [...s].sort((a, b) => a - b);
    say(`  round ${round}  latency at ${o.rate} msgs/s + ${o.markers} markers/s, 1,001 rules: p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms  (${s.length} alerts)`);
  }
  const base = median(tput.get(0)!);
  say(`\nSUMMARY  ${o.rounds} rounds × ${o.seconds} s, ${o.connections} connections × window ${o.window}, QoS 1, fsync`);
  for (const n of counts) {
    const m = median(tput.get(n)!);
    say(`  ${String(n).padStart(4)} rules  median ${Math.round(m).toLocaleString('en-US').padStart(8)} msgs/s  ${(m / base).toFixed(3)}× the 0-rule rate  (cost ${((1 - m / base) * 100).toFixed(1)} %)`);
  }
  const sorted = [...lat].sort((a, b) => a - b);
  const cost = (1 - median(tput.get(1000)!) / base) * 100;
  const p99 = percentile(sorted, 99);
  say(`  reading PUBACK → alert on the local broker: p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms over ${sorted.length} alerts`);
  say(`\nchecks`);
  say(`  ${cost <= 15 ? 'PASS' : 'FAIL'}  1,000 rules cost ${cost.toFixed(1)} % of the 0-rule throughput   goal <= 15 %`);
  say(`  ${p99 <= 10 ? 'PASS' : 'FAIL'}  p99 PUBACK → alert ${p99.toFixed(2)} ms at ${o.rate} msgs/s         goal <= 10 ms`);
}

installCleanupHandlers();
try {
  await run(options(process.argv.slice(2)));
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench:rules failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
