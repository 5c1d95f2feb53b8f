// Desired state and the daemon's health (README "Fleets" › "Desired state"), on a real
// `edgebus start` child whose upstream is mosquitto, with a real store fault made from the
// test side: the child's RLIMIT_FSIZE is lowered with `prlimit --pid` while devices publish,
// so LevelDB's write-ahead log write fails with EFBIG (/healthz: store-unavailable) while
// the small files a rollback writes still fit; raising it again is the fault clearing.
//   - a rules-only document whose grace period sees the store fail is rolled back;
//   - so is one that restarted the daemon (overlay), in the daemon it restarted into;
// and through the rollbacks every acknowledged reading is stored, and every stored event
// arrives upstream once, in seq order. Then, the devices stopped:
//   - a document that comes while the store is already failing waits, then applies;
//   - a local edit of the overlay is reported as drift, as it happens and at start.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { Feeder } from '../helpers/feeder.js';
import { closed, connect, endAll, listen, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const DESIRED = 'edgebus/test-gw/config/desired';
const REPORTED = 'edgebus/test-gw/config/reported';
const EVENTS = 'edgebus/test-gw/events';
const BASE = 'id: base\nmatch: { type: DeviceData }\ngroupBy: source\nwhere: { value: { gt: 1000 } }\n';
const BASE2 = BASE.replace('gt: 1000', 'gt: 2000');
const EXTRA = 'id: extra\nmatch: { type: DeviceData }\ngroupBy: source\nwhere: { value: { gt: 3000 } }\n';
/** Over what the rollback writes (a rule file, the pending record), under a write-ahead log that has taken some readings. */
const FAULT_LIMIT = 4096;
/** Long enough for the test to make the fault after seeing the files swapped, on a busy machine. */
const GRACE = '10s';

interface Report { version: string | number | null; status: string; errors: string[]; drift: string[] }

describe('desired state: health within the grace period, and drift of the overlay', () => {
  let broker: UpstreamBroker;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let d: ChildDaemon;
  let cloud: MqttClient;
  let events: Collector;
  let reports: { client: MqttClient; got: { topic: string; body: string }[] };
  const feeder = new Feeder({ devices: 2, inflight: 1, pauseMs: 100 });
  const overlay = () => join(tmp.dir, 'data', 'desired-config.yaml');
  const rule = (name: string) => join(tmp.dir, 'rules', name);
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null);
  const all = () => reports.got.map((m) => JSON.parse(m.body) as Report);
  const reportOf = (version: number) => waitFor(() => all().find((r) => r.version === version), { timeout: 60_000, message: `the report of version ${version}` });
  const push = (doc: unknown) => cloud.publishAsync(DESIRED, JSON.stringify(doc), { qos: 1, retain: true });
  const readies = () => d.output().split('"edgebus ready').length - 1;
  const healthCode = async () => (await fetch(`${d.httpUrl}/healthz`)).status;
  const limitFileSize = (limit: number | 'unlimited') => execFileSync('prlimit', ['--pid', String(d.child.pid), `--fsize=${limit}:`]);
  const writeErrors = async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_store_write_errors_total') ?? 0;
  /** The fault, from the first failed write to its clearing: what a grace period must not let pass. */
  const storeFault = async () => {
    const before = await writeErrors();
    limitFileSize(FAULT_LIMIT);
    try {
      await waitFor(async () => (await writeErrors()) > before, { timeout: 20_000, message: 'a store write failing under the lowered file size limit' });
    } finally {
      limitFileSize('unlimited');
    }
  };
  const files = () => ({ overlay: read(overlay()), base: read(rule('base.yaml')), extra: read(rule('extra.yaml')) });
  /** Readings acknowledged from now on arrive upstream: the daemon is forwarding. */
  const forwarding = async () => {
    const from = feeder.acked() + 5;
    await waitFor(() => feeder.acked() >= from, { timeout: 20_000, message: 'readings acknowledged again' });
    const ids = feeder.devices!.flatMap((dev) => [...dev.acked]);
    await waitFor(() => {
      const got = new Set(events.events().map((e) => e.id));
      return ids.every((id) => got.has(id));
    }, { timeout: 20_000, message: 'the acknowledged readings upstream' });
  };

  before(async () => {
    broker = await startUpstreamBroker();
    tmp = tempDir();
    mkdirSync(join(tmp.dir, 'rules'));
    mkdirSync(join(tmp.dir, 'devices'));
    cloud = await connect(broker.url);
    events = await startCollector(broker.url, EVENTS);
    reports = await listen(broker.url, REPORTED);
    file = writeConfig(tmp.dir, {
      store: { durability: 'fsync' },
      upstream: { url: broker.url, keepalive: '2s', retry: { initialDelay: '50ms', maxDelay: '300ms' }, batch: { maxEvents: 50, linger: '100ms' }, desiredGrace: GRACE },
    });
    d = await spawnDaemon(file);
    await waitFor(async () => ((await getStatus(d.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
    feeder.start(() => d.brokerUrl);
    await waitFor(() => feeder.acked() >= 20, { message: 'the devices publishing' });
  });
  after(async () => {
    await feeder.stop();
    try {
      if (d?.child.exitCode === null) limitFileSize('unlimited');
    } catch { /* the child is gone */ }
    await endAll([cloud, reports?.client]);
    await events?.close();
    await killDaemon(d);
    await broker?.stop();
    tmp?.cleanup();
  });

  let v1: ReturnType<typeof files>;

  it('applies a first document (a rule and a config key, by a restart)', async () => {
    await push({ version: 1, rules: { 'base.yaml': BASE }, config: { upstream: { batch: { maxEvents: 40 } } } });
    const r = await reportOf(1);
    assert.equal(r.status, 'applied', r.errors.join('\n'));
    v1 = files();
    assert.equal(v1.base, BASE);
    assert.match(v1.overlay ?? '', /maxEvents: 40/);
  });

  it('rolls back a rules-only document when the store fails within its grace period', async () => {
    const ready = readies();
    await push({ version: 2, rules: { 'base.yaml': BASE2, 'extra.yaml': EXTRA }, config: { upstream: { batch: { maxEvents: 40 } } } });
    await waitFor(() => existsSync(rule('extra.yaml')), { message: 'the document\'s rule files swapped in' });
    await storeFault();
    const r = await reportOf(2);
    assert.equal(r.status, 'rolled-back');
    assert.deepEqual(r.errors, ['health: store-unavailable (file too large (EFBIG)) within the grace period']);
    assert.deepEqual(files(), v1, 'the previous rules and overlay, byte for byte');
    assert.equal(readies(), ready, 'rules alone never restart the daemon');
    await waitFor(async () => (await healthCode()) === 200, { timeout: 20_000, message: '/healthz ok again' });
    await forwarding();
  });

  it('rolls back a document that restarted the daemon when the store fails in the restarted one', async () => {
    const ready = readies();
    await push({ version: 3, rules: { 'base.yaml': BASE2 }, config: { upstream: { batch: { maxEvents: 30 } } } });
    await waitFor(() => readies() > ready, { timeout: 30_000, message: 'the restart the overlay asks for' });
    assert.match(read(overlay()) ?? '', /maxEvents: 30/);
    await storeFault();
    const r = await reportOf(3);
    assert.equal(r.status, 'rolled-back');
    assert.deepEqual(r.errors, ['health: store-unavailable (file too large (EFBIG)) within the grace period']);
    assert.deepEqual(files(), v1, 'the previous rules and overlay, byte for byte');
    await waitFor(() => readies() === ready + 2, { timeout: 20_000, message: 'a second restart, which brought the previous setup back' });
    await waitFor(async () => (await healthCode()) === 200, { timeout: 20_000, message: '/healthz ok again' });
    await forwarding();
  });

  it('through the rollbacks nothing was lost, repeated or reordered: every acknowledged reading stored, every stored event upstream once, in seq order', async () => {
    await feeder.stop();
    await waitFor(async () => (await getStatus(d.httpUrl)).stagedEvents === 0, { message: 'no reading waiting for its predecessors' });
    const stored = await getEvents(d.httpUrl, { limit: 1_000_000 });
    const storedIds = new Set(stored.map((e) => e.id));
    const acked = feeder.devices!.flatMap((dev) => [...dev.acked]);
    assert.deepEqual(acked.filter((id) => !storedIds.has(id)), [], 'acknowledged readings missing from the log');
    const want = stored.map((e) => e.seq);
    await events.waitForSeqs(want, 30_000);
    const got = events.events().map((e) => e.seq);
    assert.deepEqual([...got].sort((a, b) => a - b), want, 'each stored event upstream exactly once');
    assert.deepEqual(got, [...got].sort((a, b) => a - b), 'in seq order');
  });
  it('holds a document that comes while the store is failing, and applies it once healthy', async () => {
    // One byte: the reopen fails too, so the store stays unavailable until the limit is lifted.
    limitFileSize(1);
    try {
      // The devices have stopped: a reading of the test's own is the write that fails.
      let n = 0;
      await waitFor(async () => {
        const probe = await connect(d.brokerUrl, { clientId: `probe-${n}` });
        await Promise.race([publish(probe, 'sensors/probe/t', { id: `probe-${n++}`, value: 1 }).catch(() => {}), closed(probe)]);
        await endAll([probe]);
        return (await healthCode()) === 503;
      }, { timeout: 20_000, message: '/healthz 503' });
      await push({ version: 4, rules: { 'base.yaml': BASE, 'extra.yaml': EXTRA }, config: { upstream: { batch: { maxEvents: 40 } } } });
      await waitFor(() => d.output().includes('the document is applied once it is ok again'), { timeout: 20_000, message: 'the document held' });
      assert.equal(all().find((r) => r.version === 4), undefined, 'no report while it waits');
      assert.equal(read(rule('extra.yaml')), null, 'nothing swapped into an unhealthy gateway');
    } finally {
      limitFileSize('unlimited');
    }
    const r = await reportOf(4);
    assert.equal(r.status, 'applied', r.errors.join('\n'));
    assert.equal(read(rule('extra.yaml')), EXTRA);
  });

  it('reports a local edit of the overlay as drift as it happens, and again at start', async () => {
    const applied = read(overlay())!;
    const driftOf = (n: number) => waitFor(() => {
      const last = all().at(-1);
      return all().length > n && last?.version === 4 && last;
    }, { timeout: 20_000, message: 'the report sent again' });
    let n = all().length;
    writeFileSync(overlay(), applied.replace('maxEvents: 40', 'maxEvents: 41'));
    let r = await driftOf(n);
    assert.deepEqual(r.drift, ['dataDir/desired-config.yaml']);
    assert.equal(r.status, 'applied', 'drift leaves the status');
    n = all().length;
    writeFileSync(overlay(), applied);
    r = await driftOf(n);
    assert.deepEqual(r.drift, [], 'back as applied: no drift');

    // Edited while the daemon is stopped: the next start reports it.
    d.child.kill('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    writeFileSync(overlay(), applied.replace('maxEvents: 40', 'maxEvents: 42'));
    n = all().length;
    d = await spawnDaemon(file);
    r = await driftOf(n);
    assert.deepEqual(r.drift, ['dataDir/desired-config.yaml']);
  });

});
