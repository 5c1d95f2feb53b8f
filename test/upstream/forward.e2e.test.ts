// Store-and-forward end to end (SPEC §4): devices publish to the gateway's broker with
// MQTT.js, the gateway forwards to a real upstream broker (mosquitto), and a subscriber
// there — the "cloud" — checks what arrived. Outages are real: a TCP proxy between the
// gateway and the broker is cut, the broker is stopped, the daemon is killed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstArrivals, startCollector, type Collector } from '../helpers/collector.js';
import { spawnDaemon, startDaemon, writeConfig, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { getDlq, getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const EVENTS_TOPIC = 'edgebus/test-gw/events';
const FAST_RETRY = { initialDelay: '50ms', maxDelay: '300ms', multiplier: 2, jitter: true, maxAttempts: 2 };

function upstreamConfig(url: string, extra: Record<string, unknown> = {}): ConfigYaml {
  return { upstream: { url, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 100, linger: '20ms' }, ...extra } };
}

/** Publishes `n` readings per device, each with its own `seq`, and returns once all are acknowledged. */
async function publishReadings(client: MqttClient, devices: string[], n: number, from = 1, extra: Record<string, unknown> = {}): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = from; i < from + n; i++) {
    for (const d of devices) pending.push(publish(client, `sensors/${d}/temperature`, { value: 20 + (i % 10), unit: 'C', seq: i, ...extra }));
  }
  await Promise.all(pending);
}

async function allSeqs(httpUrl: string): Promise<number[]> {
  return (await getEvents(httpUrl, { limit: 1_000_000 })).map((e) => e.seq);
}

function assertIncreasing(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `seq ${seqs[i]} arrived after ${seqs[i - 1]}`);
}

describe('upstream store-and-forward', () => {
  let broker: UpstreamBroker;

  before(async () => {
    broker = await startUpstreamBroker();
  });
  after(async () => {
    await broker.stop();
  });

  describe('with the link up', () => {
    let d: RunningDaemon;
    let cloud: Collector;
    let device: MqttClient;
    let tmp: ReturnType<typeof tempDir>;

    before(async () => {
      tmp = tempDir();
      cloud = await startCollector(broker.url, EVENTS_TOPIC);
      d = await startDaemon(tmp.dir, upstreamConfig(broker.url));
      await waitFor(async () => (await getStatus(d.httpUrl) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
      device = await connect(d.brokerUrl);
    });
    after(async () => {
      await device.endAsync();
      await d.stop();
      await cloud.close();
      tmp.cleanup();
    });

    it('forwards every event once, in seq order, as CBOR batches with the MQTT 5 content type', async () => {
      await publishReadings(device, ['gh-1', 'gh-2', 'gh-3'], 120);
      const stored = await allSeqs(d.httpUrl);
      await cloud.waitForSeqs(stored);
      const arrived = cloud.events().map((e) => e.seq);
      assert.deepEqual(arrived, stored, 'each event exactly once, in log order');
      assert.ok(cloud.batches.length > 1, 'more than one batch (maxEvents 100)');
      for (const b of cloud.batches) {
        assert.equal(b.gatewayId, 'test-gw');
        assert.ok(b.events.length <= 100);
        if (broker.kind === 'mosquitto') assert.equal(b.contentType, 'application/cbor');
      }
      const numbers = cloud.batches.map((b) => b.batch);
      assertIncreasing(numbers);
      const first = cloud.events()[0];
      assert.equal(first.type, 'DeviceData');
      assert.equal(first.sensor?.type, 'temperature');
      const metrics = await getMetrics(d.httpUrl);
      assert.equal(metricValue(metrics, 'edgebus_upstream_connected'), 1);
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_backlog_events') === 0, { message: 'backlog 0' });
      assert.ok((metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_forwarded_total') ?? 0) >= stored.length);
    });

    it('never forwards an event whose ttl has passed, and counts it as expired', async () => {
      const before = metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_expired_total') ?? 0;
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      await publish(device, 'sensors/old-1/temperature', { value: 1, ts: hourAgo, ttl: 60, id: 'stale-reading' });
      await publish(device, 'sensors/old-1/temperature', { value: 2, id: 'fresh-reading' });
      await waitFor(() => cloud.events().some((e) => e.id === 'fresh-reading'), { message: 'fresh reading upstream' });
      assert.ok(!cloud.events().some((e) => e.id === 'stale-reading'), 'the expired event was not forwarded');
      await waitFor(async () => (metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_expired_total') ?? 0) === before + 1, { message: 'expired counted' });
      assert.ok((await getEvents(d.httpUrl, { source: 'old-1' })).some((e) => e.id === 'stale-reading'), 'it is still in the local log');
    });

    it('turns a message on the command topic into a Command event delivered on cmd/<device>, once', async () => {
      const pump = await connect(d.brokerUrl);
      const got: string[] = [];
      pump.on('message', (_t, p) => got.push(p.toString()));
      await pump.subscribeAsync('cmd/pump-1', { qos: 1 });
      const cloudClient = await connect(broker.url);
      const first = JSON.stringify({ id: 'cmd-1', action: 'open' });
      await cloudClient.publishAsync('edgebus/test-gw/commands/pump-1', first, { qos: 1 });
      await waitFor(() => got.length === 1, { message: 'command delivered' });
      assert.equal(got[0], first);
      // The cloud redelivers (QoS 1): stored once, delivered once. The next command proves the
      // redelivery was handled, since commands are handled in order.
      await cloudClient.publishAsync('edgebus/test-gw/commands/pump-1', first, { qos: 1 });
      await cloudClient.publishAsync('edgebus/test-gw/commands/pump-1', JSON.stringify({ id: 'cmd-2', action: 'close' }), { qos: 1 });
      await waitFor(() => got.length >= 2, { message: 'second command delivered' });
      assert.deepEqual(got.map((p) => (JSON.parse(p) as { id: string }).id), ['cmd-1', 'cmd-2']);
      const commands = await getEvents(d.httpUrl, { type: 'Command' });
      assert.deepEqual(commands.map((c) => [c.id, c.device?.id, c.payload.action]), [['cmd-1', 'pump-1', 'open'], ['cmd-2', 'pump-1', 'close']]);
      await cloudClient.endAsync();
      await pump.endAsync();
    });
  });

  it('sends JSON batches with their content type, and forwards the heartbeat like any event', async () => {
    const tmp = tempDir();
    const cloud = await startCollector(broker.url, EVENTS_TOPIC);
    const d = await startDaemon(tmp.dir, {
      schedules: { heartbeat: '* * * * * *' },
      ...upstreamConfig(broker.url, { format: 'json' }),
    });
    const device = await connect(d.brokerUrl);
    try {
      await publishReadings(device, ['j-1'], 5);
      // A heartbeat a second: the first may come before the link is up (it is forwarded all the same).
      const beat = await waitFor(() => cloud.events().find((e) => e.type === 'SystemEvent' && e.payload.kind === 'heartbeat' && e.payload.upstreamConnected === true),
        { timeout: 15_000, message: 'a heartbeat upstream, made while the link was up' });
      assert.equal(beat.source, 'test-gw');
      assert.equal(typeof beat.payload.uptimeSeconds, 'number');
      assert.equal(beat.payload.upstreamConnected, true);
      assert.equal(typeof beat.payload.backlog, 'number');
      const stored = (await getEvents(d.httpUrl, { source: 'j-1' })).map((e) => e.seq);
      await cloud.waitForSeqs(stored);
      for (const b of cloud.batches) {
        if (broker.kind === 'mosquitto') assert.equal(b.contentType, 'application/json');
        assert.equal(b.gatewayId, 'test-gw');
      }
      const reading = cloud.events().find((e) => e.source === 'j-1')!;
      assert.equal(reading.sensor?.value, 21);
      assert.equal(reading.metadata.priority, 'normal');
    } finally {
      await device.endAsync();
      await d.stop();
      await cloud.close();
      tmp.cleanup();
    }
  });

  describe('through an outage', () => {
    let proxy: TcpProxy;
    let d: RunningDaemon;
    let cloud: Collector;
    let device: MqttClient;
    let tmp: ReturnType<typeof tempDir>;

    before(async () => {
      tmp = tempDir();
      proxy = await startTcpProxy(broker.port);
      cloud = await startCollector(broker.url, EVENTS_TOPIC);
      d = await startDaemon(tmp.dir, upstreamConfig(proxy.url, { batch: { maxEvents: 200, linger: '20ms' } }));
      device = await connect(d.brokerUrl);
    });
    after(async () => {
      await device.endAsync();
      await d.stop();
      await cloud.close();
      await proxy.close();
      tmp.cleanup();
    });

    it('keeps acknowledging while the link is cut, then delivers everything in order', async () => {
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 1, { message: 'link up' });
      await publishReadings(device, ['a', 'b'], 50);
      proxy.cut();
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 0, { message: 'link noticed down' });
      await publishReadings(device, ['a', 'b'], 400, 51);
      const metrics = await getMetrics(d.httpUrl);
      assert.ok((metricValue(metrics, 'edgebus_upstream_backlog_events') ?? 0) > 0, 'a backlog builds up');
      assert.ok((metricValue(metrics, 'edgebus_upstream_oldest_unsent_seconds') ?? -1) >= 0);
      assert.ok((metricValue(metrics, 'edgebus_upstream_retries_total') ?? 0) > 0, 'reconnects are counted');
      proxy.restore();
      const stored = await allSeqs(d.httpUrl);
      await cloud.waitForSeqs(stored);
      const order = firstArrivals(cloud.events());
      assert.deepEqual(order, stored, 'every event arrived, in log order');
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_backlog_events') === 0, { message: 'backlog drained' });
    });

    it('sends high-priority events ahead of the telemetry backlog after an outage', async () => {
      proxy.cut();
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 0, { message: 'link down' });
      const seen = cloud.events().length;
      await publishReadings(device, ['c'], 1000);
      await publish(device, 'sensors/c/smoke', { value: 1, priority: 'critical', id: 'smoke-alarm' });
      await publishReadings(device, ['c'], 10, 1001);
      proxy.restore();
      const stored = await allSeqs(d.httpUrl);
      await cloud.waitForSeqs(stored);
      const afterOutage = cloud.events().slice(seen);
      assert.equal(afterOutage[0].id, 'smoke-alarm', 'the critical event is the first to arrive');
      const order = firstArrivals(afterOutage).filter((s) => s !== afterOutage[0].seq);
      assertIncreasing(order);
      assert.equal(cloud.events().filter((e) => e.id === 'smoke-alarm').length, 1, 'sent once, not again by the drain');
    });

    it('reconnects after the upstream broker restarts and drains what was stored meanwhile', async () => {
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 1, { message: 'link up' });
      // The gateway reaches the broker through the proxy; holding the proxy shut until the
      // cloud subscriber is back means nothing is published while nobody listens.
      proxy.cut();
      await cloud.close();
      await broker.stop();
      await publishReadings(device, ['r'], 100);
      await broker.start();
      cloud = await startCollector(broker.url, EVENTS_TOPIC);
      proxy.restore();
      const all = await getEvents(d.httpUrl, { source: 'r' });
      await cloud.waitForSeqs(all.map((e) => e.seq));
      assertIncreasing(firstArrivals(cloud.events()));
    });
  });

  /**
   * A strict mosquitto, a gateway forwarding to it, and one oversize reading among twelve:
   * the oversize one must end in the DLQ with `detail`, everything else upstream in order.
   */
  async function oversizeCase(mosquittoLine: string, maxEvents: number, detail: RegExp): Promise<string> {
    const strict = await startUpstreamBroker({ extraConfig: [mosquittoLine] });
    const tmp = tempDir();
    const cloud = await startCollector(strict.url, EVENTS_TOPIC);
    const d = await startDaemon(tmp.dir, upstreamConfig(strict.url, { batch: { maxEvents, linger: '20ms' } }));
    const device = await connect(d.brokerUrl);
    try {
      if (strict.kind !== 'mosquitto') assert.fail('refusals need an MQTT 5 broker: install mosquitto');
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 1, { message: 'link up' });
      const sends: Promise<void>[] = [];
      for (let i = 1; i <= 6; i++) sends.push(publish(device, 'sensors/q/t', { value: i, id: `q-${i}` }));
      sends.push(publish(device, 'sensors/q/blob', { value: 'y'.repeat(6000), id: 'too-big' }));
      for (let i = 7; i <= 12; i++) sends.push(publish(device, 'sensors/q/t', { value: i, id: `q-${i}` }));
      await Promise.all(sends);
      const stored = (await getEvents(d.httpUrl, { source: 'q' })).filter((e) => e.id !== 'too-big').map((e) => e.seq);
      await cloud.waitForSeqs(stored);
      assert.ok(!cloud.events().some((e) => e.id === 'too-big'));
      assertIncreasing(firstArrivals(cloud.events()));
      const dlq = await waitFor(async () => (await getDlq(d.httpUrl)).filter((r) => r.reason === 'upstream-refused'), { message: 'dead-lettered' });
      assert.equal(dlq.length, 1);
      assert.match(dlq[0].detail, detail);
      assert.equal((JSON.parse(Buffer.from(dlq[0].payload, 'base64').toString()) as { id: string }).id, 'too-big');
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_backlog_events') === 0, { message: 'cursor past the refused event' });
      return await getMetrics(d.httpUrl);
    } finally {
      await device.endAsync();
      await d.stop();
      await cloud.close();
      await strict.stop();
      tmp.cleanup();
    }
  }

  it('dead-letters an event too large for any packet the broker accepts, and forwards the rest', async () => {
    // mosquitto announces max_packet_size in its CONNACK (MQTT 5) and drops a client that
    // sends more: the gateway must split around it and keep the lone oversize event back.
    const metrics = await oversizeCase('max_packet_size 4000', 50, /too-big.*maximum packet size \(4000 bytes\)/);
    assert.equal(metricValue(metrics, 'edgebus_upstream_retries_total') ?? 0, 0, 'nothing was sent to be refused');
  });

  it('bisects a batch the broker refuses down to the one event it will not take, and forwards the rest', async () => {
    // message_size_limit makes mosquitto answer PUBACK 0x95 for that one publish and keep
    // the connection: a refusal by content, as a cloud broker's policy would give.
    const metrics = await oversizeCase('message_size_limit 4000', 10, /too-big.*Packet too large.*0x95/);
    assert.ok((metricValue(metrics, 'edgebus_upstream_retries_total') ?? 0) >= 1, 'the refused batch was retried before it was split');
  });

  it('loses nothing when the daemon is killed with SIGKILL in the middle of a drain', async () => {
    const tmp = tempDir();
    const proxy = await startTcpProxy(broker.port);
    proxy.cut();
    const file = writeConfig(tmp.dir, upstreamConfig(proxy.url, { batch: { maxEvents: 50, linger: '10ms' }, inflight: 2 }));
    let child = await spawnDaemon(file);
    const cloud = await startCollector(broker.url, EVENTS_TOPIC);
    try {
      const device = await connect(child.brokerUrl);
      await publishReadings(device, ['k1', 'k2', 'k3', 'k4'], 500);
      await device.endAsync();
      const stored = await allSeqs(child.httpUrl);
      assert.equal(stored.length, 2000);
      // Freeze the link the moment the fourth batch lands: the drain is provably half done,
      // with batches sent and not acknowledged, when the daemon dies.
      cloud.onBatch = () => {
        if (cloud.batches.length === 4) proxy.blackhole();
      };
      proxy.restore();
      await waitFor(() => cloud.batches.length >= 4, { message: 'the drain under way' });
      child.child.kill('SIGKILL');
      await child.exited;
      assert.ok(new Set(cloud.events().map((e) => e.seq)).size < stored.length, 'killed before the drain finished');
      proxy.restore();
      child = await spawnDaemon(file);
      await cloud.waitForSeqs(stored, 30_000);
      assert.deepEqual(firstArrivals(cloud.events()), stored, 'everything arrived, in order');
    } finally {
      child.child.kill('SIGKILL');
      await child.exited;
      await cloud.close();
      await proxy.close();
      tmp.cleanup();
    }
  });

  it('keeps a retained online status, and the broker publishes the offline Last Will when the gateway dies', async () => {
    const tmp = tempDir();
    const file = writeConfig(tmp.dir, { gatewayId: 'will-gw', ...upstreamConfig(broker.url, { keepalive: '1s' }) });
    const child = await spawnDaemon(file);
    const watcher = await connect(broker.url);
    const states: string[] = [];
    watcher.on('message', (_t, p) => states.push((JSON.parse(p.toString()) as { state: string }).state));
    try {
      await watcher.subscribeAsync('edgebus/will-gw/status', { qos: 1 });
      await waitFor(() => states.at(-1) === 'online', { message: 'retained online status' });
      child.child.kill('SIGKILL');
      await child.exited;
      await waitFor(() => states.at(-1) === 'offline', { timeout: 15_000, message: 'Last Will offline' });
      const fresh = await connect(broker.url);
      const retained: string[] = [];
      fresh.on('message', (_t, p) => retained.push((JSON.parse(p.toString()) as { state: string }).state));
      await fresh.subscribeAsync('edgebus/will-gw/status', { qos: 1 });
      await waitFor(() => retained.length > 0, { message: 'retained status' });
      assert.equal(retained[0], 'offline');
      await fresh.endAsync();
    } finally {
      await watcher.endAsync();
      tmp.cleanup();
    }
  });
});
