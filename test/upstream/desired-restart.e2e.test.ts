// Desired state that needs a restart (README "Fleets: desired state"): a document with a
// device profile, a route and a config key, pushed to a real `edgebus start` child process
// whose upstream is mosquitto. The daemon restarts in its process on the same ports; the
// readings published before, during and after arrive upstream once each, in seq order.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getEvents, getStatus } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, listen, publish, type MqttClient } from '../helpers/mqtt.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const DESIRED = 'edgebus/test-gw/config/desired';
const REPORTED = 'edgebus/test-gw/config/reported';
const EVENTS = 'edgebus/test-gw/events';
const HUMIDITY = 'edgebus/test-gw/humidity';
const HOT = 'id: hot\nmatch: { type: DeviceData, sensor: temperature }\ngroupBy: source\nwhere: { value: { gt: 30 } }\n';
// A serial port that cannot open is a device the gateway keeps retrying, not a failed start.
const METER = 'id: meter-1\nserial: { path: "/dev/edgebus-test-no-such-port", baudRate: 9600 }\nframing: { readline: "\\n" }\nformat: csv\nfields:\n  - { name: power, unit: W }\n';
const ROUTE = { name: 'humid', match: { sensor: 'humidity' }, upstream: 'edgebus/{gatewayId}/humidity' };

interface Report { version: string | number | null; status: string; errors: string[]; drift: string[] }

describe('desired state with device profiles, routes and config keys: applied by a restart', () => {
  let broker: UpstreamBroker;
  let proxy: TcpProxy;
  let tmp: ReturnType<typeof tempDir>;
  let d: ChildDaemon;
  let cloud: MqttClient;
  let events: Collector;
  let humidity: Collector;
  let reports: { client: MqttClient; got: { topic: string; body: string }[] };
  const overlay = () => join(tmp.dir, 'data', 'desired-config.yaml');

  const reportOf = (version: string | number) => waitFor(() => reports.got.map((m) => JSON.parse(m.body) as Report).find((r) => r.version === version), { timeout: 30_000, message: `the report of version ${version}` });
  const push = (doc: unknown) => cloud.publishAsync(DESIRED, JSON.stringify(doc), { qos: 1, retain: true });
  // With a seq, a reading a device sends again after a reconnect is a duplicate the gateway drops.
  const reading = (c: MqttClient, source: string, sensor: string, seq: number) => publish(c, `sensors/${source}/${sensor}`, { value: 20 + (seq % 10), unit: 'C', seq });
  /** Every stored event arrived upstream (on the default topic or the route's) once, each topic in seq order. */
  const assertForwardedOnce = async () => {
    const stored = async () => (await getEvents(d.httpUrl, { limit: 1_000_000 })).map((e) => e.seq);
    const want = await waitFor(async () => {
      const all = await stored();
      return events.events().length + humidity.events().length >= all.length && all;
    }, { timeout: 20_000, message: 'every stored event upstream' });
    const got = [...events.events(), ...humidity.events()].map((e) => e.seq).sort((a, b) => a - b);
    assert.deepEqual(got, want, 'each stored event upstream exactly once');
    for (const c of [events, humidity]) {
      const seqs = c.events().map((e) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order on each topic');
    }
  };

  before(async () => {
    broker = await startUpstreamBroker();
    proxy = await startTcpProxy(broker.port);
    tmp = tempDir();
    mkdirSync(join(tmp.dir, 'rules'));
    mkdirSync(join(tmp.dir, 'devices'));
    cloud = await connect(broker.url);
    events = await startCollector(broker.url, EVENTS);
    humidity = await startCollector(broker.url, HUMIDITY);
    reports = await listen(broker.url, REPORTED);
    const file = writeConfig(tmp.dir, { upstream: { url: proxy.url, keepalive: '2s', retry: { initialDelay: '50ms', maxDelay: '300ms' }, batch: { maxEvents: 50, linger: '300ms' } } });
    d = await spawnDaemon(file);
    await waitFor(async () => ((await getStatus(d.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
  });
  after(async () => {
    await endAll([cloud, reports?.client]);
    await events?.close();
    await humidity?.close();
    await killDaemon(d);
    await proxy?.close();
    await broker?.stop();
    tmp?.cleanup();
  });

  it('applies a profile, a route and upstream.batch.maxEvents by restarting, losing, repeating and reordering no reading', async () => {
    const device = await connect(d.brokerUrl, { reconnectPeriod: 100 });
    try {
      // Before: the local batching (up to 50 events, 300 ms linger) bunches readings sent together.
      await Promise.all(Array.from({ length: 10 }, (_, i) => reading(device, 'gh-1', 'temperature', i + 1)));
      await waitFor(() => events.events().length >= 10, { message: 'the first readings upstream' });
      assert.ok(events.batches.some((b) => b.events.length > 1), 'the local config batches several events together');
      const humidBefore = 1;
      await reading(device, 'gh-1', 'humidity', 100);
      await waitFor(() => events.events().some((e) => e.source === 'gh-1' && e.sensor?.type === 'humidity'), { message: 'humidity on the default topic before the route' });

      await push({ version: 1, rules: { 'hot.yaml': HOT }, devices: { 'meter.yaml': METER }, routes: [ROUTE], config: { upstream: { batch: { maxEvents: 1 } } } });
      // During: readings keep coming while the daemon restarts; the device reconnects on its own.
      let seq = 1000;
      let applied: Report | undefined;
      while (!applied) {
        await reading(device, 'gh-2', 'temperature', ++seq);
        applied = reports.got.map((m) => JSON.parse(m.body) as Report).find((r) => r.version === 1);
      }
      assert.equal(applied.status, 'applied', applied.errors.join('\n'));
      assert.ok(d.output().split('\n').filter((l) => l.includes('"edgebus ready')).length >= 2, 'the daemon restarted');
      assert.equal(readFileSync(join(tmp.dir, 'devices', 'meter.yaml'), 'utf8'), METER, 'the profile is in devicesDir');
      assert.ok(existsSync(join(tmp.dir, 'rules', 'hot.yaml')));
      const devices = (await (await fetch(`${d.httpUrl}/api/devices`)).json()) as { id: string }[] | { devices: { id: string }[] };
      assert.ok(JSON.stringify(devices).includes('meter-1'), 'the restarted daemon loaded the profile');

      // After: the route takes humidity to its own topic; every batch now carries one event.
      const firstAfter = events.batches.length;
      await Promise.all(Array.from({ length: 10 }, (_, i) => reading(device, 'gh-3', 'temperature', i + 1)));
      await reading(device, 'gh-3', 'humidity', 1);
      await waitFor(() => humidity.events().find((e) => e.source === 'gh-3'), { message: 'humidity on the route topic' });
      await waitFor(() => events.events().filter((e) => e.source === 'gh-3').length >= 10, { message: 'the readings after' });
      const after = events.batches.slice(firstAfter).filter((b) => b.events.some((e) => e.source === 'gh-3'));
      assert.deepEqual(after.map((b) => b.events.length), after.map(() => 1), 'upstream.batch.maxEvents: 1 is in force');
      assert.equal(events.events().filter((e) => e.sensor?.type === 'humidity').length, humidBefore, 'humidity left the default topic');
      await assertForwardedOnce();
    } finally {
      await endAll([device]);
    }
  });

  it('rejects a document whose route is invalid, changing nothing', async () => {
    const before = readFileSync(overlay(), 'utf8');
    const ready = d.output().split('"edgebus ready').length;
    await push({ version: 2, routes: [{ match: { sensor: 'humidity' }, upstream: 'a', local: 'b' }], config: { upstream: { batch: { maxEvents: 7 } } } });
    const r = await reportOf(2);
    assert.equal(r.status, 'rejected');
    assert.ok(r.errors.some((e) => /routes\.0\.local: expected exactly one destination/.test(e)), r.errors.join('\n'));
    assert.equal(readFileSync(overlay(), 'utf8'), before, 'the overlay is untouched');
    assert.equal(d.output().split('"edgebus ready').length, ready, 'no restart');
  });

  it('puts the previous overlay, rules and profiles back when applying fails part-way, and reports rolled-back', async () => {
    const before = { overlay: readFileSync(overlay(), 'utf8'), hot: readFileSync(join(tmp.dir, 'rules', 'hot.yaml'), 'utf8') };
    // A folder where a profile is to go: the overlay and the rules are swapped first, then the profile fails.
    mkdirSync(join(tmp.dir, 'devices', 'zz.yaml'));
    await push({ version: 3, rules: { 'hot.yaml': HOT.replace('gt: 30', 'gt: 31') }, devices: { 'meter.yaml': METER, 'zz.yaml': METER }, routes: [], config: { upstream: { batch: { maxEvents: 9 } } } });
    const r = await reportOf(3);
    assert.equal(r.status, 'rolled-back');
    assert.match(r.errors[0], /^apply: .*zz\.yaml/);
    assert.equal(readFileSync(join(tmp.dir, 'rules', 'hot.yaml'), 'utf8'), before.hot, 'the rule file is restored');
    assert.equal(readFileSync(overlay(), 'utf8'), before.overlay, 'the overlay is as it was');
    assert.match(before.overlay, /maxEvents: 1/);
    assert.ok(!existsSync(join(tmp.dir, 'data', 'desired-pending.json')), 'nothing pending');
  });

  it('applies a document that arrives when the link returns, restarting while the backlog drains, sending each buffered event once and in order', async () => {
    proxy.cut();
    await waitFor(async () => !((await getStatus(d.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream down' });
    const device = await connect(d.brokerUrl);
    try {
      for (let chunk = 0; chunk < 10; chunk++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => reading(device, 'gh-4', 'temperature', chunk * 100 + i + 1)));
      }
    } finally {
      await endAll([device]);
    }
    const ready = d.output().split('"edgebus ready').length;
    await push({ version: 4, rules: { 'hot.yaml': HOT }, devices: { 'meter.yaml': METER }, routes: [ROUTE], config: { upstream: { batch: { maxEvents: 5 } } } });
    proxy.restore();
    const r = await reportOf(4);
    assert.equal(r.status, 'applied', r.errors.join('\n'));
    assert.equal(d.output().split('"edgebus ready').length, ready + 1, 'one restart');
    await assertForwardedOnce();
  });

  it('puts the previous files back and starts again when the restarted daemon cannot start, and reports rolled-back', async () => {
    const before = readFileSync(overlay(), 'utf8');
    const port = Number(new URL(d.brokerUrl).port);
    await push({ version: 5, rules: { 'hot.yaml': HOT }, devices: { 'meter.yaml': METER }, routes: [ROUTE], config: { upstream: { batch: { maxEvents: 6 } } } });
    // Another process takes the broker port the moment the stopping daemon lets it go.
    const squatter = await waitFor(() => new Promise<Server | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '0.0.0.0', () => resolve(server));
    }), { timeout: 20_000, interval: 1, message: 'the broker port free' });
    try {
      await waitFor(() => d.output().includes('restart with a desired-state document failed'), { timeout: 20_000, message: 'the failed restart' });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    const r = await reportOf(5);
    assert.equal(r.status, 'rolled-back');
    assert.match(r.errors[0], /^restart: .*EADDRINUSE/);
    assert.equal(readFileSync(overlay(), 'utf8'), before, 'the previous overlay is back');
    assert.ok(!existsSync(join(tmp.dir, 'data', 'desired-pending.json')), 'nothing pending');
    // The previous setup runs again on the same ports and forwards as before.
    const device = await connect(d.brokerUrl);
    try {
      await reading(device, 'gh-5', 'temperature', 1);
    } finally {
      await endAll([device]);
    }
    await assertForwardedOnce();
  });

  it('applies a document already waiting when a gateway first starts, restarting on the ports it first took', async (t) => {
    const dir = tempDir();
    t.after(() => dir.cleanup());
    await cloud.publishAsync('edgebus/test-gw2/config/desired', JSON.stringify({ version: 'boot-1', devices: { 'meter.yaml': METER }, config: { upstream: { batch: { maxEvents: 4 } } } }), { qos: 1, retain: true });
    t.after(() => cloud.publishAsync('edgebus/test-gw2/config/desired', '', { qos: 1, retain: true }));
    const seen = await listen(broker.url, 'edgebus/test-gw2/config/reported');
    let d2: ChildDaemon | undefined;
    try {
      // Ports 0: the first start takes any free ones, the restart must take the same.
      d2 = await spawnDaemon(writeConfig(dir.dir, { gatewayId: 'test-gw2', upstream: { url: broker.url, keepalive: '2s' } }));
      const r = await waitFor(() => seen.got.map((m) => JSON.parse(m.body) as Report).find((x) => x.version === 'boot-1'), { timeout: 30_000, message: 'the report of boot-1' });
      assert.equal(r.status, 'applied', r.errors.join('\n'));
      const readyPorts = d2.output().split('\n').filter((l) => l.includes('"edgebus ready')).map((l) => {
        const rec = JSON.parse(l) as { brokerPort: number; httpPort: number };
        return `${rec.brokerPort}/${rec.httpPort}`;
      });
      assert.equal(readyPorts.length, 2, 'one restart');
      assert.equal(readyPorts[1], readyPorts[0], 'the same ports');
      assert.equal(readFileSync(join(dir.dir, 'devices', 'meter.yaml'), 'utf8'), METER);
    } finally {
      await endAll([seen.client]);
      await killDaemon(d2);
    }
  });
});
