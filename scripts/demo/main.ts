// `npm run demo`: edgebus in one process tree, telling what happens as it happens. Three
// simulated greenhouses publish to the gateway's broker; one heats up and a rule raises an
// alert; the (stand-in) cloud becomes unreachable for a while, events are kept, and the
// backlog drains when it returns.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import type { DaemonStatus } from '../../src/cli/status.js';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/util/log.js';
import { StandInCloud } from './cloud.js';

const USAGE = `usage: node dist/scripts/demo/main.js [--seconds N] [--fast] [--free-ports]

  --seconds N     stop after N seconds and exit 0 (default: run until Ctrl-C)
  --fast          every phase about three times sooner (for tests)
  --free-ports    any free ports, not 1883 and 9100`;

const GATEWAY = 'demo-gw';
const GREENHOUSES = ['greenhouse-1', 'greenhouse-2', 'greenhouse-3'];
const HOT_ONE = 'greenhouse-2';

interface Options {
  seconds: number | null;
  /** Time scale of every phase: 1 normally, less with --fast. */
  k: number;
  freePorts: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { seconds: { type: 'string' }, fast: { type: 'boolean' }, 'free-ports': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const seconds = values.seconds === undefined ? null : Number(values.seconds);
  if (seconds !== null && !(seconds > 0)) throw new Error(`--seconds: expected a number above 0, got ${JSON.stringify(values.seconds)}`);
  return { seconds, k: values.fast ? 0.3 : 1, freePorts: values['free-ports'] === true };
}

function ruleYaml(windowSeconds: number): string {
  return `id: greenhouse-too-hot
description: greenhouse too hot (average temperature over ${windowSeconds}s above 30 °C)
match: { type: DeviceData, sensor: temperature, source: "greenhouse-*" }
groupBy: source
window: { sliding: ${windowSeconds}s }
having: { count: { gte: 3 }, "avg(value)": { gt: 30 } }
emit: { severity: warning, priority: high, message: "{group} too hot: average {avg(value)} °C over ${windowSeconds}s" }
clear: { where: { value: { lt: 28 } } }
cooldown: 5m
`;
}

/** The port when nothing listens on it, else 0 (any free one). */
function portOr0(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen(port, host, () => probe.close(() => resolve(port)));
  });
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const { k } = opts;
  const t0 = Date.now();
  const say = (text: string): void => {
    process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${text}\n`);
  };
  const at = (s: number) => s * k * 1000;
  const tickMs = at(1);

  const dir = mkdtempSync(join(tmpdir(), 'edgebus-demo-'));
  const cloud = new StandInCloud();
  const topic = `edgebus/${GATEWAY}/events`;
  // A batch a backlog drains in is told at once; the steady flow once per report.
  let flow = { batches: 0, events: 0 };
  await cloud.start(topic, (b) => {
    if (b.events.length > 20) say(`cloud: batch #${b.batch} with ${b.events.length} events (${cloud.received} received so far)`);
    else flow = { batches: flow.batches + 1, events: flow.events + b.events.length };
  });
  say(`cloud: stand-in broker on ${cloud.url}, subscribed to ${topic}`);

  const windowSeconds = Math.max(3, Math.round(10 * k));
  mkdirSync(join(dir, 'rules'));
  writeFileSync(join(dir, 'rules', 'greenhouse-too-hot.yaml'), ruleYaml(windowSeconds));
  const configFile = join(dir, 'edgebus.yaml');
  writeFileSync(configFile, stringify({
    gatewayId: GATEWAY,
    dataDir: join(dir, 'data'),
    rulesDir: join(dir, 'rules'),
    devicesDir: join(dir, 'devices'),
    broker: { host: '127.0.0.1', port: opts.freePorts ? 0 : await portOr0(1883, '127.0.0.1') },
    http: { host: '127.0.0.1', port: opts.freePorts ? 0 : await portOr0(9100, '127.0.0.1') },
    upstream: {
      url: cloud.url, keepalive: '5s', format: 'cbor',
      batch: { maxEvents: 100, linger: '200ms' },
      retry: { initialDelay: `${Math.round(at(0.5))}ms`, maxDelay: `${Math.round(at(2))}ms`, multiplier: 2, jitter: true },
    },
    log: { level: 'error', format: 'auto' },
  }));
  const { config } = loadConfig({ file: configFile, env: {} });
  const daemon = new Daemon(config, createLogger(config.log, process.stderr), configFile);
  const { broker, http } = await daemon.start();
  const brokerUrl = `mqtt://127.0.0.1:${broker.port}`;
  say(`edgebus: broker ${brokerUrl}, data in ${config.dataDir}, rule "greenhouse too hot" loaded`);
  say(`dashboard: http://127.0.0.1:${http.port}/`);
  const status = async () => (await daemon.status()) as DaemonStatus;

  const watcher = await mqtt.connectAsync(brokerUrl, { clientId: 'demo-alerts', reconnectPeriod: 0 });
  watcher.on('message', (_t, payload) => {
    const alert = JSON.parse(payload.toString()) as { payload: { state: string; message: string } };
    say(`ALERT ${alert.payload.state}: ${alert.payload.message}`);
  });
  await watcher.subscribeAsync('alerts/#', { qos: 1 });

  const sensors: MqttClient[] = [];
  for (const id of GREENHOUSES) sensors.push(await mqtt.connectAsync(brokerUrl, { clientId: id, reconnectPeriod: 0 }));
  say(`sensors: ${GREENHOUSES.length} greenhouses publishing temperature and humidity every ${tickMs / 1000}s`);
  const heatAt = at(15);
  let heatingSaid = false;
  let failures = 0;
  const publishAll = (): void => {
    const elapsed = Date.now() - t0;
    sensors.forEach((client, i) => {
      const id = GREENHOUSES[i];
      let temperature = 22 + i + Math.random();
      if (id === HOT_ONE && elapsed >= heatAt) {
        if (!heatingSaid) {
          heatingSaid = true;
          say(`${HOT_ONE}: the vent is stuck, it is heating up`);
        }
        temperature = Math.min(36, 24 + (2 * (elapsed - heatAt)) / (k * 1000));
      }
      const readings = { temperature: { value: Math.round(temperature * 10) / 10, unit: 'C' }, humidity: { value: Math.round(55 + 10 * Math.random()), unit: '%' } };
      for (const [sensor, body] of Object.entries(readings)) {
        client.publishAsync(`sensors/${id}/${sensor}`, JSON.stringify(body), { qos: 1 }).catch(() => failures++);
      }
    });
  };
  const sensorTimer = setInterval(publishAll, tickMs);

  let lastReport = 0;
  const report = async (): Promise<void> => {
    const s = await status();
    const up = s.upstream;
    say(`stored: ${s.storeEvents ?? s.lastSeq} readings and alerts (last seq ${s.lastSeq}, ${s.ingestRatePerSecond ?? 0} msgs/s); upstream ${up?.connected ? 'connected' : 'down'}, backlog ${up?.backlog ?? 0}`);
    if (flow.batches) say(`cloud: ${flow.batches} batches with ${flow.events} events since the last report (${cloud.received} received so far)`);
    flow = { batches: 0, events: 0 };
  };
  const reportTimer = setInterval(() => {
    if (Date.now() - lastReport < at(5) - 50) return;
    lastReport = Date.now();
    void report();
  }, tickMs);

  const outage = setTimeout(() => void runOutage(), at(25));
  const runOutage = async (): Promise<void> => {
    await cloud.cut();
    say('outage: the cloud is unreachable; events are kept');
    setTimeout(() => void recover(), at(10));
  };
  const recover = async (): Promise<void> => {
    const s = await status();
    const backlog = s.upstream?.backlog ?? 0;
    const forwardedBefore = s.upstream?.forwarded ?? 0;
    await cloud.restore();
    say(`cloud is back; ${backlog} events waiting to be forwarded`);
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await status();
      if (now.upstream?.connected && now.upstream.backlog === 0) {
        say(`outage recovered: ${now.upstream.forwarded - forwardedBefore} events forwarded, backlog drained (0)`);
        return;
      }
    }
  };

  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(sensorTimer);
    clearInterval(reportTimer);
    clearTimeout(outage);
    say(`${why}: stopping`);
    await Promise.all([...sensors, watcher].map((c) => c.endAsync(true).catch(() => {})));
    await daemon.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
    say(`done${failures ? ` (${failures} publishes not acknowledged)` : ''}`);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('Ctrl-C'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  if (opts.seconds !== null) setTimeout(() => void shutdown(`${opts.seconds}s are up`), opts.seconds * 1000);
  say(opts.seconds === null ? 'running until Ctrl-C' : `running for ${opts.seconds}s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
