// Desired state from the cloud (README "Fleets" › "Desired state"), end to end: a real daemon
// whose upstream is mosquitto behind a TCP proxy (to cut the link), a cloud client that
// pushes retained documents and reads the retained reports, devices publishing readings.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getEvents, getStatus } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { runCli, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { connect, endAll, listen, publish, type MqttClient } from '../helpers/mqtt.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const DESIRED = 'edgebus/test-gw/config/desired';
const REPORTED = 'edgebus/test-gw/config/reported';
const FLEET = 'edgebus/fleet/config/desired';
const FAST_RETRY = { initialDelay: '50ms', maxDelay: '300ms', multiplier: 2, jitter: true, maxAttempts: 2 };
const COLD = 'id: cold\nmatch: { type: DeviceData, sensor: temperature }\ngroupBy: source\nwhere: { value: { lt: 5 } }\n';
const HOT = 'id: hot\nmatch: { type: DeviceData, sensor: temperature }\ngroupBy: source\nwhere: { value: { gt: 30 } }\n';
const WARM = 'id: warm\nmatch: { type: DeviceData, sensor: temperature }\ngroupBy: source\nwhere: { value: { gt: 25 } }\n';

interface Report { version: string | number | null; hash: string | null; status: string; errors: string[]; backtest: Record<string, number>; appliedAt: string; drift: string[] }

describe('desired state pushed from the cloud', () => {
  let broker: UpstreamBroker;
  let proxy: TcpProxy;
  let tmp: ReturnType<typeof tempDir>;
  let d: RunningDaemon;
  let cloud: MqttClient;
  let device: MqttClient;
  let events: Collector;
  let reports: { client: MqttClient; got: { topic: string; body: string }[] };
  let rulesDir: string;

  const reportsOf = (version: string | number): Report[] =>
    reports.got.map((m) => JSON.parse(m.body) as Report).filter((r) => r.version === version);
  const reportOf = (version: string | number) => waitFor(() => reportsOf(version)[0], { timeout: 20_000, message: `the report of version ${version}` });
  const push = (doc: unknown) => cloud.publishAsync(DESIRED, typeof doc === 'string' ? doc : JSON.stringify(doc), { qos: 1, retain: true });
  const reading = (source: string, value: number) => publish(device, `sensors/${source}/temperature`, { value, unit: 'C' });
  const rulesLoaded = async () => ((await getStatus(d.httpUrl)) as { rules: { loaded: number } }).rules.loaded;

  before(async () => {
    broker = await startUpstreamBroker();
    proxy = await startTcpProxy(broker.port);
    tmp = tempDir();
    rulesDir = join(tmp.dir, 'rules');
    mkdirSync(rulesDir);
    writeFileSync(join(rulesDir, 'cold.yaml'), COLD);
    cloud = await connect(broker.url);
    events = await startCollector(broker.url, 'edgebus/test-gw/events');
    reports = await listen(broker.url, REPORTED);
    d = await startDaemon(tmp.dir, { upstream: { url: proxy.url, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 50, linger: '20ms' } } });
    await waitFor(async () => ((await getStatus(d.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
    device = await connect(d.brokerUrl);
    // Two incidents of "hot" on gh-1 for the backtest to find.
    for (const v of [35, 20, 36, 21]) await reading('gh-1', v);
  });
  after(async () => {
    await endAll([device, cloud, reports?.client]);
    await events?.close();
    await d?.stop();
    await proxy?.close();
    await broker?.stop();
    tmp?.cleanup();
  });

  it('applies a new rule, reports it with what it would have raised, and the rule fires on new readings', async () => {
    await push({ version: 1, rules: { 'hot.yaml': HOT } });
    const r = await reportOf(1);
    assert.equal(r.status, 'applied', r.errors.join('\n'));
    assert.deepEqual(r.errors, []);
    assert.match(r.hash ?? '', /^[0-9a-f]{64}$/);
    // The same count `edgebus rules test` gives over the same log.
    writeFileSync(join(tmp.dir, 'hot-test.yaml'), HOT);
    const cli = await runCli(['rules', 'test', join(tmp.dir, 'hot-test.yaml'), '--config', join(tmp.dir, 'edgebus.yaml')], { cwd: tmp.dir });
    const emitted = Number(/^(\d+) alerts? would have been emitted/m.exec(cli.stderr)?.[1]);
    assert.equal(emitted, 2, cli.stderr);
    assert.deepEqual(r.backtest, { hot: emitted });
    assert.equal(readFileSync(join(rulesDir, 'hot.yaml'), 'utf8'), HOT);
    assert.equal(readFileSync(join(rulesDir, 'cold.yaml'), 'utf8'), COLD, 'a local file is left alone');
    await reading('gh-2', 40);
    await waitFor(async () => (await getEvents(d.httpUrl, { type: 'Alert' })).find((e) => e.payload.rule === 'hot' && e.payload.group === 'gh-2'), { message: 'an alert of the new rule' });
  });

  it('takes the same version again as a no-op, and refuses a broken rule with its error, changing nothing', async () => {
    // The same document laid out otherwise: the same hash, so nothing happens and nothing is reported.
    await push(`{"rules": {"hot.yaml": ${JSON.stringify(HOT)}}, "version": 1}`);
    await push({ version: 2, rules: { 'hot.yaml': HOT.replace('gt: 30', 'gtx: 30') } });
    const r = await reportOf(2);
    assert.equal(r.status, 'rejected');
    assert.equal(r.errors.length, 1, r.errors.join('\n'));
    assert.match(r.errors[0], /^rules\/hot\.yaml:4: where\.value\.gtx: unknown operator "gtx"/);
    assert.equal(reportsOf(1).length, 1, 'version 1 was reported once');
    assert.equal(readFileSync(join(rulesDir, 'hot.yaml'), 'utf8'), HOT, 'the file is untouched');
    assert.equal(await rulesLoaded(), 2, 'cold and hot still loaded');
  });

  it('puts the old files back when applying fails part-way, and reports rolled-back', async () => {
    // A directory where a rules file is to go: hot.yaml is swapped first, then zz.yaml fails.
    mkdirSync(join(rulesDir, 'zz.yaml'));
    await push({ version: 3, rules: { 'hot.yaml': WARM.replace('id: warm', 'id: hot'), 'zz.yaml': WARM } });
    const r = await reportOf(3);
    assert.equal(r.status, 'rolled-back');
    assert.match(r.errors[0], /^apply: .*zz\.yaml/);
    assert.equal(readFileSync(join(rulesDir, 'hot.yaml'), 'utf8'), HOT, 'the swapped file is restored');
    assert.ok(!existsSync(join(rulesDir, '.hot.yaml.desired-tmp')) && !existsSync(join(rulesDir, '.zz.yaml.desired-tmp')), 'no temporary file left');
  });

  it('applies a push made while the link is down once it returns, losing, reordering and repeating no buffered event', async () => {
    proxy.cut();
    await waitFor(async () => !((await getStatus(d.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream down' });
    for (let i = 0; i < 40; i++) await reading(`gh-${3 + (i % 3)}`, 10 + i);
    await push({ version: 4, rules: { 'hot.yaml': HOT, 'warm.yaml': WARM } });
    proxy.restore();
    const r = await reportOf(4);
    assert.equal(r.status, 'applied', r.errors.join('\n'));
    assert.equal(readFileSync(join(rulesDir, 'warm.yaml'), 'utf8'), WARM);
    assert.ok(r.backtest.warm > 0 && !('hot' in r.backtest), `only the new rule is backtested: ${JSON.stringify(r.backtest)}`);
    for (let i = 0; i < 10; i++) await reading('gh-6', 10 + i);
    const stored = async () => (await getEvents(d.httpUrl, { limit: 1_000_000 })).map((e) => e.seq);
    await waitFor(async () => {
      const want = await stored();
      return events.events().length >= want.length && want;
    }, { timeout: 20_000, message: 'every stored event upstream' });
    assert.deepEqual(events.events().map((e) => e.seq), await stored(), 'each event once, in log order');
  });

  it('reports a local edit of a managed file as drift, and its undoing', async () => {
    const before = reportsOf(4).length;
    writeFileSync(join(rulesDir, 'warm.yaml'), WARM.replace('gt: 25', 'gt: 26'));
    const drifted = await waitFor(() => reportsOf(4).slice(before).find((r) => r.drift.length), { message: 'a drift report' });
    assert.equal(drifted.status, 'applied', 'the status stays');
    assert.deepEqual(drifted.drift, ['warm.yaml']);
    writeFileSync(join(rulesDir, 'warm.yaml'), WARM);
    // Nothing was reported for version 4 between `before` and the edit, so this one follows the drift.
    const back = await waitFor(() => reportsOf(4).slice(before).find((r) => r.drift.length === 0), { message: 'the drift cleared' });
    assert.equal(back.hash, drifted.hash);
  });

  it('does not apply again after a restart: the applied version is kept in the data dir', async () => {
    const before = reportsOf(4).length;
    await d.stop();
    d = await startDaemon(tmp.dir, { upstream: { url: proxy.url, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 50, linger: '20ms' } } });
    await push({ version: 5, devices: { 'm.yaml': 'id: m' } });
    const r = await reportOf(5);
    assert.equal(r.status, 'rejected');
    assert.ok(r.errors.some((e) => /^devices: not applied remotely by this gateway/.test(e)), r.errors.join('\n'));
    assert.equal(reportsOf(4).length, before, 'the retained version 4 was neither applied nor reported again');
  });

  it('lets the gateway\'s own document win over the fleet\'s until it is cleared', async () => {
    await cloud.publishAsync(FLEET, JSON.stringify({ version: 'fleet-1', rules: { 'hot.yaml': HOT, 'fleet.yaml': WARM.replace('id: warm', 'id: fleetwide') } }), { qos: 1, retain: true });
    // Handled in order: once version 6 is reported, the fleet's document has been seen and passed over.
    await push({ version: 6, routes: [] });
    assert.equal((await reportOf(6)).status, 'rejected');
    assert.equal(reportsOf('fleet-1').length, 0, 'the gateway\'s own document wins');
    await cloud.publishAsync(DESIRED, '', { qos: 1, retain: true });
    const r = await reportOf('fleet-1');
    assert.equal(r.status, 'applied', r.errors.join('\n'));
    assert.ok(existsSync(join(rulesDir, 'fleet.yaml')));
    assert.ok(!existsSync(join(rulesDir, 'warm.yaml')), 'a file the previous document managed and this one leaves out is removed');
    assert.equal(readFileSync(join(rulesDir, 'cold.yaml'), 'utf8'), COLD, 'a local file stays');
  });
});
