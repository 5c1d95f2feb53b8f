// What the clock-step tests (test/time/*.e2e) share: a child daemon under a fake wall clock
// (with a real cloud broker when they need one), readings published in bulk, a clean stop,
// and the SystemEvents a step leaves in the log.
import assert from 'node:assert/strict';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, getMetrics, metricValue } from './api.js';
import { cpuSeconds, rssBytes } from './proc.js';
import { startCollector, type Collector } from './collector.js';
import { spawnDaemon, writeConfig, type ChildDaemon, type ConfigYaml } from './daemon.js';
import { fakeClock, type FakeClock } from './faketime.js';
import { connect, endAll, type MqttClient } from './mqtt.js';
import { tempDir } from './tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from './upstream-broker.js';
import { waitFor } from './wait.js';

export const DAY = 86_400_000;

/** Publishes every body as JSON, 50 in flight; resolves once each is acknowledged (QoS 1) or sent (QoS 0). */
export async function publishAll(client: MqttClient, topic: string, bodies: object[], qos: 0 | 1 = 1): Promise<void> {
  for (let i = 0; i < bodies.length; i += 50) {
    await Promise.all(bodies.slice(i, i + 50).map((b) => client.publishAsync(topic, JSON.stringify(b), { qos })));
  }
}

/** SIGTERM, and a clean exit (0); a daemon already gone is left alone. */
export async function stopDaemon(d: ChildDaemon | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGTERM');
  const { code } = await d.exited;
  assert.equal(code, 0, d.output().slice(-2_000));
}

/** The daemon's SystemEvents of one kind (`clock-step`, `heartbeat`, …), in log order. */
export async function systemEvents(httpUrl: string, kind: string): Promise<EdgeEvent[]> {
  return (await getEvents(httpUrl, { type: 'SystemEvent' })).filter((e) => e.payload.kind === kind);
}

/** Successful runs of a scheduled job so far (`edgebus_jobs_total`). */
export async function jobRuns(httpUrl: string, job: string): Promise<number> {
  return metricValue(await getMetrics(httpUrl), 'edgebus_jobs_total', { job, result: 'ok' }) ?? 0;
}

/** Moves the fake wall clock to `offset` from the real one and waits for the daemon to record the step. */
export async function stepClock(fake: FakeClock, httpUrl: string, offset: number): Promise<EdgeEvent> {
  const before = (await systemEvents(httpUrl, 'clock-step')).length;
  fake.offset(offset);
  const steps = await waitFor(async () => {
    const found = await systemEvents(httpUrl, 'clock-step');
    return found.length > before ? found : undefined;
  }, { message: 'the clock-step SystemEvent' });
  return steps[steps.length - 1];
}

/** A child daemon under a fake wall clock, a device client on its broker, and optionally a cloud. */
export interface Scenario {
  dir: string;
  fake: FakeClock;
  /** The config file, for the CLI and restarts. */
  config: string;
  d: ChildDaemon;
  client: MqttClient;
  broker: UpstreamBroker | null;
  cloud: Collector | null;
  close(): Promise<void>;
}

export interface ScenarioOptions {
  /** The config overrides, given the test's directory and the cloud broker's URL (with `upstream`). */
  config?: (at: { dir: string; cloudUrl: string | null }) => ConfigYaml;
  /** Start the fake wall clock at this ISO time rather than the real one. */
  start?: string;
  /** A real upstream broker (mosquitto) and a collector on the events topic. */
  upstream?: boolean;
  /** Files the daemon reads at start (rules, flags), written before it is spawned. */
  prepare?: (dir: string) => void;
}

export async function openScenario(opts: ScenarioOptions = {}): Promise<Scenario> {
  const tmp = tempDir();
  const fake = fakeClock(tmp.dir, opts.start);
  const broker = opts.upstream ? await startUpstreamBroker() : null;
  const cloud = broker ? await startCollector(broker.url, 'edgebus/test-gw/events') : null;
  opts.prepare?.(tmp.dir);
  const config = writeConfig(tmp.dir, opts.config?.({ dir: tmp.dir, cloudUrl: broker?.url ?? null }) ?? {});
  const d = await spawnDaemon(config, fake.env);
  const s: Scenario = {
    dir: tmp.dir, fake, config, d, client: await connect(d.brokerUrl), broker, cloud,
    async close() {
      await endAll([s.client]);
      await stopDaemon(s.d);
      await s.cloud?.close();
      await broker?.stop();
      tmp.cleanup();
    },
  };
  return s;
}

/** A daemon busy with a step's aftermath would use a core; an idle one a few percent. */
export const MAX_CPU_SHARE = 0.5;
export const MAX_RSS = 300 * 1024 * 1024;

/** CPU share and peak memory of the child while `during` runs. */
export async function cost<T>(d: ChildDaemon, during: () => Promise<T>): Promise<{ value: T; cpuShare: number; rss: number }> {
  const pid = d.child.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  let rss = rssBytes(pid);
  const sampler = setInterval(() => (rss = Math.max(rss, rssBytes(pid))), 100);
  try {
    const value = await during();
    const elapsed = (performance.now() - t0) / 1000;
    return { value, cpuShare: (cpuSeconds(pid) - cpu0) / elapsed, rss: Math.max(rss, rssBytes(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

/** What `cost` measured stays under what a step's aftermath may use. */
export function assertCheap(c: { cpuShare: number; rss: number }, what = 'after the step'): void {
  assert.ok(c.cpuShare < MAX_CPU_SHARE, `the daemon used ${(c.cpuShare * 100).toFixed(0)} % of a core ${what}`);
  assert.ok(c.rss < MAX_RSS, `peak RSS ${(c.rss / 2 ** 20).toFixed(0)} MiB ${what}`);
}
