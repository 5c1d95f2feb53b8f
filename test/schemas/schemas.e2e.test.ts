// Schemas end to end (README "Schemas"): one sensor's readings published in v1, v2 and v3
// to the gateway's broker, a bad one rejected with the schema path at fault; every read
// that can ask for the latest version — the API, the CLI (through the daemon and on the
// store), the forwarder to a real mosquitto, live rules, a backtest — sees v3 shapes,
// while reads as stored show what was published.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getDlq, getEvents, getMetrics, getStatus, metricValue, parseNdjson } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { runCli, startDaemon, writeConfig, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { TEMPERATURE_SCHEMA, writeSchemas } from '../helpers/schemas.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const CLOUD_TOPIC = 'cloud/test-gw/events';
/** A route that overrides the upstream's `eventVersion: latest` with as-stored. */
const RAW_TOPIC = 'cloud/test-gw/raw';
const TOPIC = 'sensors/gh-1/temperature';

/** Written against v3 (Fahrenheit): a v1 reading of 30 (°C, 86 °F) must fire it. */
const HOT_F = [
  'id: hot-f',
  'match: { type: DeviceData, sensor: temperature }',
  'where: { value: { gt: 80 }, unit: F }',
  'emit: { severity: warning, message: "{source} at {value} {unit}" }',
  '',
].join('\n');

/** What each reading was published as, and what it is in v3. */
const READINGS = [
  { sent: { temp: 30, version: 1 }, stored: { temp: 30 }, version: '1', v3: { value: 86, unit: 'F', site: 'gh-1' } },
  { sent: { value: 20, unit: 'C', state: 'ON', version: '2' }, stored: { value: 20, unit: 'C', state: 'ON' }, version: '2', v3: { value: 68, unit: 'F', state: 'on', site: 'gh-1' } },
  { sent: { value: 50, unit: 'F', site: 'roof' }, stored: { value: 50, unit: 'F', site: 'roof' }, version: '3', v3: { value: 50, unit: 'F', site: 'roof' } },
] as const;

const temperatures = (events: readonly EdgeEvent[]) => events.filter((e) => e.type === 'DeviceData' && e.sensor?.type === 'temperature');

describe('schemas end to end', () => {
  const tmp = tempDir();
  let up: UpstreamBroker;
  let cloud: Collector;
  let raw: Collector;
  let d: RunningDaemon | null = null;
  let device: MqttClient;
  let overrides: ConfigYaml;
  let configFile: string;

  before(async () => {
    up = await startUpstreamBroker();
    cloud = await startCollector(up.url, CLOUD_TOPIC);
    raw = await startCollector(up.url, RAW_TOPIC);
    writeSchemas(tmp.dir);
    mkdirSync(join(tmp.dir, 'rules'));
    writeFileSync(join(tmp.dir, 'rules', 'hot-f.yaml'), HOT_F);
    overrides = {
      schemasDir: join(tmp.dir, 'schemas'),
      upstream: { url: up.url, topic: 'cloud/{gatewayId}/events', eventVersion: 'latest', batch: { linger: '20ms' } },
      routes: [
        { name: 'v3', match: { type: 'DeviceData', sensor: 'temperature' }, upstream: 'cloud/{gatewayId}/events' },
        { name: 'raw', match: { type: 'DeviceData', sensor: 'temperature' }, upstream: 'cloud/{gatewayId}/raw', eventVersion: 'as-stored' },
      ],
    };
    configFile = writeConfig(tmp.dir, overrides);
    d = await startDaemon(tmp.dir, overrides);
    device = await connect(d.brokerUrl);
    for (const r of READINGS) await publish(device, TOPIC, r.sent);
    await publish(device, TOPIC, { temp: 'warm', version: 1 });
    await waitFor(async () => temperatures(await getEvents(d!.httpUrl)).length === READINGS.length && (await getDlq(d!.httpUrl)).length === 1, { message: 'three readings stored, one rejected' });
  });

  after(async () => {
    await device?.endAsync();
    await d?.stop();
    await cloud?.close();
    await raw?.close();
    await up?.stop();
    tmp.cleanup();
  });

  it('stores each reading as published, with the version it declared or the latest', async () => {
    const stored = temperatures(await getEvents(d!.httpUrl));
    assert.deepEqual(stored.map((e) => e.payload), READINGS.map((r) => r.stored));
    assert.deepEqual(stored.map((e) => e.metadata.version), READINGS.map((r) => r.version));
  });

  it('keeps the bad one in the rejected store with the schema path at fault, counted by reason', async () => {
    const [rejected] = await getDlq(d!.httpUrl);
    assert.equal(rejected.reason, 'schema-violation');
    assert.equal(rejected.topic, TOPIC);
    assert.deepEqual(rejected.schema, { file: 'temperature.yaml', version: '1', instancePath: '/temp', schemaPath: '#/properties/temp/type', message: 'must be number' });
    assert.equal(metricValue(await getMetrics(d!.httpUrl), 'edgebus_events_rejected_total', { reason: 'schema-violation' }), 1);
  });

  it('/api/events?as=latest gives v3 shapes; the default gives them as stored', async () => {
    const latest = temperatures(await getEvents(d!.httpUrl, { as: 'latest' }));
    assert.deepEqual(latest.map((e) => e.payload), READINGS.map((r) => r.v3));
    assert.deepEqual(latest.map((e) => e.metadata.version), ['3', '3', '3']);
    assert.deepEqual(latest.map((e) => [e.sensor?.value, e.sensor?.unit]), [[86, 'F'], [68, 'F'], [50, 'F']]);
    const res = await fetch(`${d!.httpUrl}/api/events?as=newest`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /as: expected as-stored or latest/);
    const follow = await fetch(`${d!.httpUrl}/api/events?as=latest&follow=1`);
    assert.equal(follow.status, 400, 'the live stream is as stored');
    await follow.body?.cancel();
  });

  it('edgebus events --as latest through the running daemon', async () => {
    const r = await runCli(['events', '--json', '--as', 'latest', '--type', 'DeviceData', '--config', configFile], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(temperatures(parseNdjson<EdgeEvent>(r.stdout)).map((e) => e.payload), READINGS.map((r) => r.v3));
  });

  it('the forwarder with eventVersion: latest delivers v3 shapes upstream', async () => {
    const seqs = temperatures(await getEvents(d!.httpUrl)).map((e) => e.seq);
    await cloud.waitForSeqs(seqs);
    const got = new Map(cloud.events().map((e) => [e.seq, e]));
    assert.deepEqual(seqs.map((s) => got.get(s)!.payload), READINGS.map((r) => r.v3));
    assert.deepEqual(seqs.map((s) => got.get(s)!.metadata.version), ['3', '3', '3']);
    await raw.waitForSeqs(seqs);
    const asStored = new Map(raw.events().map((e) => [e.seq, e]));
    assert.deepEqual(seqs.map((s) => asStored.get(s)!.payload), READINGS.map((r) => r.stored), 'a route\'s eventVersion overrides the upstream\'s');
  });

  it('a live rule written against v3 fires on the v1 reading', async () => {
    const alerts = await waitFor(async () => {
      const found = (await getEvents(d!.httpUrl, { type: 'Alert' })).filter((e) => e.payload.rule === 'hot-f');
      return found.length ? found : null;
    }, { message: 'the hot-f alert' });
    assert.equal(alerts.length, 1, 'only the v1 reading (86 °F) is over 80 °F');
    assert.equal(alerts[0].payload.message, 'gh-1 at 86 F');
  });

  it('replay --to rules runs the past through a new rule in v3 shapes', async () => {
    // Not fired live: the rule comes after the readings.
    writeFileSync(join(tmp.dir, 'rules', 'warm-f.yaml'), HOT_F.replace('hot-f', 'warm-f').replace('gt: 80', 'gt: 60, lt: 80'));
    await waitFor(async () => ((await getStatus(d!.httpUrl)) as { rules: { loaded: number } }).rules.loaded === 2, { message: 'the new rule loaded' });
    const replay = await runCli(['replay', '--from', 'all', '--to', 'rules', '--config', configFile], { cwd: tmp.dir });
    assert.equal(replay.code, 0, replay.stderr);
    const warm = await waitFor(async () => {
      const found = (await getEvents(d!.httpUrl, { type: 'Alert' })).filter((e) => e.payload.rule === 'warm-f');
      return found.length ? found : null;
    }, { message: 'a warm-f alert for the v2 reading' });
    assert.deepEqual(warm.map((e) => e.payload.message), ['gh-1 at 68 F'], 'only the v2 reading (20 °C, 68 °F) is between 60 and 80 °F');
  });

  it('on the stopped daemon\'s store: events as stored and --as latest, a backtest in v3, the DLQ entry', async () => {
    await d!.stop();
    d = null;
    const cli = (args: string[]) => runCli([...args, '--config', configFile], { cwd: tmp.dir });
    const asStored = await cli(['events', '--json', '--type', 'DeviceData']);
    assert.equal(asStored.code, 0, asStored.stderr);
    assert.deepEqual(temperatures(parseNdjson<EdgeEvent>(asStored.stdout)).map((e) => e.payload), READINGS.map((r) => r.stored));
    const latest = await cli(['events', '--json', '--type', 'DeviceData', '--as', 'latest']);
    assert.equal(latest.code, 0, latest.stderr);
    assert.deepEqual(temperatures(parseNdjson<EdgeEvent>(latest.stdout)).map((e) => e.payload), READINGS.map((r) => r.v3));
    const badFlag = await cli(['events', '--as', 'v3']);
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /--as: expected as-stored or latest/);

    const backtest = await cli(['rules', 'test', join(tmp.dir, 'rules', 'hot-f.yaml'), '--json', '--since', '1h']);
    assert.equal(backtest.code, 0, backtest.stderr);
    const emitted = parseNdjson<EdgeEvent>(backtest.stdout);
    assert.deepEqual(emitted.map((e) => e.payload.message), ['gh-1 at 86 F']);

    const dlq = await cli(['dlq', 'list']);
    assert.equal(dlq.code, 0, dlq.stderr);
    assert.match(dlq.stdout, /schema-violation\s+sensors\/gh-1\/temperature\s+temperature\.yaml version 1: \/temp must be number \(schema #\/properties\/temp\/type\)/);
  });
});

describe('schema files in edgebus check and at the start', () => {
  it('check names the broken file and line; start refuses to run with it', async () => {
    const tmp = tempDir();
    try {
      const schemas = writeSchemas(tmp.dir, {
        'broken.yaml': [
          'type: DeviceData', //                         1
          'sensor: pressure', //                         2
          'versions:', //                                3
          '  - version: 1', //                           4
          '    schema: { type: object }', //             5
          '  - version: 2', //                           6
          '    schema: { type: object }', //             7
          '    upcast:', //                              8
          '      - convert: { field: value, factor: x }', // 9
          '',
        ].join('\n'),
      });
      const good = writeConfig(tmp.dir, { schemasDir: join(tmp.dir, 'good') });
      mkdirSync(join(tmp.dir, 'good'));
      writeFileSync(join(tmp.dir, 'good', 'temperature.yaml'), TEMPERATURE_SCHEMA);
      const ok = await runCli(['check', '--config', good], { cwd: tmp.dir });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /1 schema in .*good: ok/);
      const config = writeConfig(tmp.dir, { schemasDir: schemas });
      const check = await runCli(['check', '--config', config], { cwd: tmp.dir });
      assert.equal(check.code, 1);
      assert.match(check.stderr, new RegExp(`${join(schemas, 'broken.yaml').replace(/[.]/g, '\\.')}:9: versions\\.1\\.upcast\\.0\\.convert\\.factor: expected number`));
      assert.doesNotMatch(check.stdout, /schemas? in .*: ok/);
      const start = await runCli(['start', '--config', config], { cwd: tmp.dir });
      assert.equal(start.code, 1, 'a broken schema file stops the start as a bad config does');
      assert.match(start.stderr, /broken\.yaml:9: /);
    } finally {
      tmp.cleanup();
    }
  });
});
