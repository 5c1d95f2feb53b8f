// Routes end to end: devices publish to the gateway's broker, the gateway forwards through a
// TCP proxy to a real upstream broker (mosquitto), and the "cloud" subscribes to everything
// under the gateway's prefix. Three upstream routes (site A's readings by source, alerts, a
// sampled humidity route) and a local one; the link is cut while devices keep publishing
// and the daemon restarts during the outage. Every stored event must arrive on exactly the
// topics its routes name, in log order per topic, none lost, the sampled route thinned.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstArrivals, startCollector, type Collector } from '../helpers/collector.js';
import { startDaemon, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { getEvents, getStatus } from '../helpers/api.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';
import type { EdgeEvent } from '../../src/events/types.js';

// Not the gateway's own prefix, where the link also publishes its retained status.
const PREFIX = 'cloud/test-gw';
const DEFAULT_TOPIC = `${PREFIX}/events`;
const SAMPLE_EVERY = 5;

function config(url: string): ConfigYaml {
  return {
    ingest: [
      { topic: 'sensors/{device}/{sensor}', type: 'DeviceData' },
      { topic: 'devices/{device}/status', type: 'DeviceStatus' },
      { topic: 'alarms/{device}', type: 'Alert' },
    ],
    upstream: {
      url, keepalive: '2s', inflight: 3, topic: 'cloud/{gatewayId}/events',
      retry: { initialDelay: '50ms', maxDelay: '300ms', multiplier: 2, jitter: true, maxAttempts: 2 },
      batch: { maxEvents: 25, linger: '20ms' },
    },
    routes: [
      { name: 'site-a', match: { type: 'DeviceData', source: 'site-a-*' }, upstream: 'cloud/{gatewayId}/data/{type}/{source}', priority: 1 },
      { name: 'alerts', match: { type: 'Alert' }, upstream: 'cloud/{gatewayId}/alerts', priority: 10 },
      { name: 'humidity', match: { type: 'DeviceData', sensor: 'humidity' }, upstream: 'cloud/{gatewayId}/sampled/{source}', sample: { every: SAMPLE_EVERY } },
      { name: 'site-b-local', match: { source: 'site-b-*' }, local: 'local/{source}/{sensor}' },
    ],
  };
}

/** What the routes above say, written out plainly: the upstream topics an event goes to. */
function expectedTopics(e: EdgeEvent, sampledIn: ReadonlySet<number>): string[] {
  const topics: string[] = [];
  let matched = false;
  if (e.type === 'DeviceData' && e.source.startsWith('site-a-')) {
    matched = true;
    topics.push(`${PREFIX}/data/DeviceData/${e.source}`);
  }
  if (e.type === 'Alert') {
    matched = true;
    topics.push(`${PREFIX}/alerts`);
  }
  if (e.type === 'DeviceData' && e.sensor?.type === 'humidity') {
    matched = true;
    if (sampledIn.has(e.seq)) topics.push(`${PREFIX}/sampled/${e.source}`);
  }
  if (e.source.startsWith('site-b-')) matched = true;
  if (!matched) topics.push(DEFAULT_TOPIC);
  return topics;
}

/** Every SAMPLE_EVERYth humidity reading of each source, from the first, in log order. */
function sampled(events: readonly EdgeEvent[]): Set<number> {
  const seen = new Map<string, number>();
  const kept = new Set<number>();
  for (const e of events) {
    if (e.type !== 'DeviceData' || e.sensor?.type !== 'humidity') continue;
    const n = seen.get(e.source) ?? 0;
    if (n % SAMPLE_EVERY === 0) kept.add(e.seq);
    seen.set(e.source, n + 1);
  }
  return kept;
}

/** One round: site A's temperature and humidity, a humidity-only site, a local-only site, one no route takes; an alarm every 5th. */
async function publishRounds(client: MqttClient, from: number, n: number): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = from; i < from + n; i++) {
    pending.push(
      publish(client, 'sensors/site-a-1/temperature', { value: 20 + (i % 7), unit: 'C' }),
      publish(client, 'sensors/site-a-2/temperature', { value: 21, unit: 'C' }),
      publish(client, 'sensors/site-a-1/humidity', { value: 40 + (i % 5), unit: '%' }),
      publish(client, 'sensors/site-c-1/humidity', { value: 55, unit: '%' }),
      publish(client, 'sensors/site-b-1/temperature', { value: 18, unit: 'C' }),
      publish(client, 'sensors/site-d-1/pressure', { value: 1013, unit: 'hPa' }),
    );
    if (i % 5 === 0) pending.push(publish(client, 'alarms/site-a-1', { message: `door open ${i}` }));
  }
  await Promise.all(pending);
}

/**
 * Until upstream has acknowledged the whole log: sampling state lives in memory, so a
 * restart counts afresh from the cursor, and the test restarts only once it is at the end.
 */
async function caughtUp(httpUrl: string): Promise<void> {
  const last = Math.max(...(await getEvents(httpUrl, { limit: 100_000 })).map((e) => e.seq));
  await waitFor(async () => {
    const up = (await getStatus(httpUrl) as { upstream: { acknowledgedThrough: number; backlog: number } }).upstream;
    return up.acknowledgedThrough >= last && up.backlog === 0;
  }, { timeout: 20_000, message: `upstream acknowledged through seq ${last}` });
}

/** The local subscriber's view: the ids it got on each topic. */
async function localListener(brokerUrl: string, got: Map<string, string[]>): Promise<MqttClient> {
  const c = await connect(brokerUrl);
  c.on('message', (topic, payload) => {
    const list = got.get(topic) ?? [];
    list.push((JSON.parse(payload.toString()) as EdgeEvent).id);
    got.set(topic, list);
  });
  await c.subscribeAsync('local/#', { qos: 1 });
  return c;
}

describe('routes through a real upstream broker', () => {
  let broker: UpstreamBroker;
  let proxy: TcpProxy;
  let cloud: Collector;
  let tmp: ReturnType<typeof tempDir>;
  let d: RunningDaemon | null = null;

  before(async () => {
    broker = await startUpstreamBroker();
    proxy = await startTcpProxy(broker.port);
    cloud = await startCollector(broker.url, `${PREFIX}/#`);
    tmp = tempDir();
  });
  after(async () => {
    await d?.stop();
    await cloud.close();
    await proxy.close();
    await broker.stop();
    tmp.cleanup();
  });

  it('puts every event on exactly its routes\' topics, in order per topic, across an outage and a restart', async () => {
    const local = new Map<string, string[]>();
    d = await startDaemon(tmp.dir, config(proxy.url));
    let device = await connect(d.brokerUrl);
    let listener = await localListener(d.brokerUrl, local);

    // Link up: the first rounds go straight through.
    await publishRounds(device, 1, 20);
    await caughtUp(d.httpUrl);

    // The link is cut in the middle of the next rounds, with batches in flight; devices go on publishing.
    const before = cloud.batches.length;
    cloud.onBatch = () => {
      if (cloud.batches.length === before + 3) proxy.cut();
    };
    await publishRounds(device, 21, 20);
    await waitFor(() => cloud.batches.length >= before + 3, { message: 'the cut, three batches into the rounds' });
    cloud.onBatch = null;
    proxy.restore();
    await caughtUp(d.httpUrl);

    // A restart in an outage: what is published meanwhile leaves once the link is back.
    proxy.cut();
    await device.endAsync();
    await listener.endAsync();
    await d.stop();
    d = await startDaemon(tmp.dir, config(proxy.url));
    device = await connect(d.brokerUrl);
    listener = await localListener(d.brokerUrl, local);
    await publishRounds(device, 41, 10);
    proxy.restore();

    const stored = await getEvents(d.httpUrl, { limit: 100_000 });
    assert.equal(new Set(stored.map((e) => e.seq)).size, 50 * 6 + 10, 'every reading and alarm stored once');
    const kept = sampled(stored);
    const want = new Map<string, number[]>();
    for (const e of stored) for (const t of expectedTopics(e, kept)) want.set(t, [...(want.get(t) ?? []), e.seq]);
    // Thrown while waiting, so a timeout says which topic still misses what.
    await waitFor(() => [...want].every(([topic, seqs]) => {
      const got = new Set(cloud.batches.filter((b) => b.topic === topic).flatMap((b) => b.events.map((e) => e.seq)));
      const missing = seqs.filter((s) => !got.has(s));
      if (missing.length) throw new Error(`${topic} misses ${missing.length} of ${seqs.length}, from seq ${missing[0]}`);
      return true;
    }), { timeout: 30_000, message: 'every routed event upstream' });

    // Exactly the expected topics, each with exactly its events, first arrivals in log order.
    const arrivedTopics = new Set(cloud.batches.map((b) => b.topic));
    assert.deepEqual([...arrivedTopics].sort(), [...want.keys()].sort());
    for (const [topic, seqs] of want) {
      const arrived = cloud.batches.filter((b) => b.topic === topic).flatMap((b) => b.events);
      assert.deepEqual(firstArrivals(arrived), seqs, `${topic}: its events, once each, in log order`);
    }
    assert.ok(!cloud.events().some((e) => e.source === 'site-b-1'), 'the local-only site never left the gateway');

    // The sampled route carried one humidity reading in five of each source.
    for (const source of ['site-a-1', 'site-c-1']) {
      const readings = stored.filter((e) => e.source === source && e.sensor?.type === 'humidity');
      assert.equal(readings.length, 50);
      assert.equal(want.get(`${PREFIX}/sampled/${source}`)?.length, 50 / SAMPLE_EVERY);
    }
    // Site A's humidity still goes whole on its own route.
    assert.equal(want.get(`${PREFIX}/data/DeviceData/site-a-1`)?.length, 100);

    // Local: every site-b reading committed while a subscriber listened, on its topic, after the commit.
    const siteB = stored.filter((e) => e.source === 'site-b-1').map((e) => e.id);
    await waitFor(() => (local.get('local/site-b-1/temperature')?.length ?? 0) >= 50, { message: 'local route deliveries' });
    assert.deepEqual([...local.keys()], ['local/site-b-1/temperature']);
    assert.deepEqual([...local.get('local/site-b-1/temperature')!].sort(), [...siteB].sort(), 'each stored site-b reading once (every one was published while a subscriber listened)');
    await device.endAsync();
    await listener.endAsync();
  });
});
