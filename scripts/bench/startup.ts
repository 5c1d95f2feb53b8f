// Start-up benchmark (npm run bench:startup): how long `edgebus start` takes to acknowledge
// a QoS 1 publish with a large store — 1,000,000 events, the last 200,000 not yet forwarded
// and the upstream unreachable — timed from process spawn to the first PUBACK, several
// starts, median; and the RSS once ready. The store is built once per run through the
// daemon itself: readings published to it while it forwards to a local mosquitto, which is
// then stopped for the last 200,000.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cleanupAll, installCleanupHandlers, makeTempDir, wasInterrupted } from './lib/children.js';
import { startDaemon, type DaemonProc } from './lib/daemon-proc.js';
import { firstPuback, publishWithIds } from './lib/id-publisher.js';
import { freePort } from './lib/ports.js';
import { median } from './lib/stats.js';
import { mosquittoAvailable, MOSQUITTO_BIN, ROOT, startTarget } from './lib/targets.js';

export const STARTUP_GOAL_MS = 2000;
const USAGE = 'usage: npm run bench:startup -- [--rounds N] [--events N] [--unsent N] [--rules DIR|none]';

function say(line: string): void {
  process.stdout.write(line + '\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function metric(d: DaemonProc, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, events: { type: 'string' }, unsent: { type: 'string' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return say(USAGE);
  const rounds = Number(values.rounds ?? process.env.BENCH_ROUNDS ?? 5);
  const total = Number(values.events ?? 1_000_000);
  const unsent = Number(values.unsent ?? 200_000);
  if (![rounds, total, unsent].every((n) => Number.isInteger(n) && n > 0) || unsent > total) throw new Error(USAGE);
  if (!mosquittoAvailable()) throw new Error(`${MOSQUITTO_BIN} not found (apt-get install mosquitto): the store is built through a real upstream`);
  const root = makeTempDir('edgebus-bench-startup-');
  const devices = join(root, 'devices');
  mkdirSync(devices);
  // The example rules by default: their rebuild at start is part of what is measured.
  const rulesDir = values.rules === 'none' ? join(root, 'no-rules') : (values.rules ?? join(ROOT, 'rules'));
  if (values.rules === 'none') mkdirSync(rulesDir);
  const dataDir = join(root, 'data');

  // 1. The store, through the daemon: forwarded while mosquitto runs, then kept.
  const upstream = await startTarget('mosquitto', { cpuProfileDir: null });
  const upstreamUrl = `mqtt://127.0.0.1:${upstream.brokerPort}`;
  let builder = await startDaemon({ dataDir, rulesDir, devicesDir: devices, upstreamUrl });
  const t0 = performance.now();
  const progress = (n: number) => n % 200_000 === 0 && say(`    ${n.toLocaleString('en-US')} published`);
  say(`building the store: ${(total - unsent).toLocaleString('en-US')} readings forwarded to mosquitto…`);
  await publishWithIds(builder.brokerPort, { total: total - unsent, connections: 50, window: 32, prefix: 'fwd', withIds: false, onProgress: progress });
  await until('the backlog to drain', 600_000, async () => (await metric(builder, 'edgebus_upstream_backlog_events')) === 0);
  await upstream.stop();
  await until('the upstream link to go down', 60_000, async () => (await metric(builder, 'edgebus_upstream_connected')) === 0);
  say(`  … then ${unsent.toLocaleString('en-US')} more with the upstream gone`);
  await publishWithIds(builder.brokerPort, { total: unsent, connections: 50, window: 32, prefix: 'kept', withIds: false, onProgress: progress });
  const backlog = await metric(builder, 'edgebus_upstream_backlog_events');
  await builder.stop();
  say(`  built in ${((performance.now() - t0) / 1000).toFixed(0)} s; backlog ${backlog.toLocaleString('en-US')} events`);

  // 2. Timed starts: upstream configured, nothing listening there.
  const deadUrl = `mqtt://127.0.0.1:${await freePort()}`;
  const ms: number[] = [];
  const rss: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const brokerPort = await freePort();
    const started = startDaemon({ dataDir, rulesDir, devicesDir: devices, upstreamUrl: deadUrl, brokerPort });
    const spawned = performance.now();
    // Spawn to the first acknowledged publish: the ready line is not what a client sees.
    await firstPuback(brokerPort, 120_000);
    const took = performance.now() - spawned;
    builder = await started;
    const atReady = builder.rssMiB();
    const ready = builder.readyAt - builder.spawnedAt;
    const left = await metric(builder, 'edgebus_upstream_backlog_events');
    await builder.stop();
    ms.push(took);
    rss.push(atReady);
    say(`  round ${round}  spawn → first PUBACK ${took.toFixed(0)} ms  (ready line ${ready.toFixed(0)} ms)  RSS at ready ${atReady.toFixed(1)} MiB  backlog ${left.toLocaleString('en-US')}`);
  }
  const m = median(ms);
  say(`\nSUMMARY  ${total.toLocaleString('en-US')} events stored, ${backlog.toLocaleString('en-US')} unforwarded, upstream unreachable, rules ${rulesDir}`);
  say(`  spawn → first PUBACK: median ${m.toFixed(0)} ms (rounds ${ms.map((v) => v.toFixed(0)).join(' / ')}); RSS at ready median ${median(rss).toFixed(1)} MiB`);
  say(`  ${m <= STARTUP_GOAL_MS ? 'PASS' : 'FAIL'}  start-up (ms) ${m.toFixed(0)}   goal <= ${STARTUP_GOAL_MS}`);
}

installCleanupHandlers();
try {
  await run();
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench:startup failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
