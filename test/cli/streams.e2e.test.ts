// Streams (issue 16 item 4): every event carries its place in its source's stream, a read
// can start at a version, and `edgebus streams` / `GET /api/streams` list each source.
// Two devices publish to a child daemon over MQTT, one with a gap its reorder window
// releases and a counter restart; the gateway forwards to mosquitto and raises an alert on
// a local topic. Everything is read back through the CLI (from the daemon's API while it
// runs, from the store once it stopped) and the HTTP API, and numbering survives a restart.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import type { StreamSummary } from '../../src/store/stream-list.js';
import { getEvents, parseNdjson } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, listen, publish, type MqttClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { hotRule } from '../helpers/rules.js';
import { follow } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const GW = 'test-gw';

/** Per source, the versions of its events in log order. */
function versionsBySource(events: readonly EdgeEvent[]): Map<string, (number | undefined)[]> {
  const out = new Map<string, (number | undefined)[]>();
  for (const e of events) out.set(e.source, [...(out.get(e.source) ?? []), e.version]);
  return out;
}

const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

async function cli(config: string, cwd: string, ...args: string[]): Promise<string> {
  const r = await runCli([...args, '--config', config], { cwd });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('streams', () => {
  const tmp = tempDir();
  let config: string;
  let broker: UpstreamBroker;
  let cloud: Collector;
  let d: ChildDaemon | null = null;
  let device: MqttClient | null = null;
  let alerts: Awaited<ReturnType<typeof listen>> | null = null;
  let startedAt: number;
  let live: EdgeEvent[];
  let liveStreams: string;

  before(async () => {
    broker = await startUpstreamBroker();
    cloud = await startCollector(broker.url, `edgebus/${GW}/events`);
    mkdirSync(join(tmp.dir, 'rules'), { recursive: true });
    writeFileSync(join(tmp.dir, 'rules', 'hot.yaml'), hotRule({ count: 1 }));
    config = writeConfig(tmp.dir, {
      http: { port: await freePort() },
      // Short, so the gap is released soon; the test waits for it, not for the time.
      store: { reorderWindow: '300ms' },
      upstream: { url: broker.url, batch: { maxEvents: 100, linger: '20ms' }, retry: { initialDelay: '50ms', maxDelay: '300ms', multiplier: 2, jitter: true, maxAttempts: 2 } },
    });
    d = await spawnDaemon(config);
    device = await connect(d.brokerUrl, { clientId: 'streams-e2e' });
    alerts = await listen(d.brokerUrl, 'alerts/#');
    startedAt = Date.now();
    const reading = (source: string, seq: number, value: number) => publish(device!, `sensors/${source}/temperature`, { seq, value, unit: 'C' });
    await reading('st-a', 1, 20);
    await reading('st-a', 2, 21);
    for (const [seq, value] of [[1, 20], [2, 40], [3, 22]]) await reading('st-b', seq, value);
    // 3 and 4 never come: 5 waits out the reorder window, then the gap is recorded.
    await reading('st-a', 5, 22);
    await waitFor(async () => (await getEvents(d!.httpUrl, { source: 'st-a' })).length === 3, { message: 'the gap released' });
    // The device restarted and counts from 1 again: a new epoch.
    await reading('st-a', 1, 23);
    await reading('st-a', 2, 24);
    await waitFor(() => alerts!.got.length > 0, { message: 'the alert on its local topic' });
    const all = await getEvents(d.httpUrl);
    await cloud.waitForSeqs(all.map((e) => e.seq));
  });
  after(async () => {
    await endAll([device ?? undefined, alerts?.client]);
    await killDaemon(d);
    await cloud?.close();
    await broker?.stop();
    tmp.cleanup();
  });

  test('every event carries its stream version: 1..n per source, in log order', async () => {
    live = parseNdjson<EdgeEvent>(await cli(config, tmp.dir, 'events', '--json'));
    const versions = versionsBySource(live);
    assert.deepEqual(versions.get('st-a'), oneTo(5));
    assert.deepEqual(versions.get('st-b'), oneTo(3));
    // The gateway's own stream: the gap and reset notices, the alert, whatever else it appended.
    assert.deepEqual(versions.get(GW), oneTo(versions.get(GW)!.length));
    assert.deepEqual(live.filter((e) => e.source === 'st-a').map((e) => e.id), ['st-a:0:1', 'st-a:0:2', 'st-a:0:5', 'st-a:1:1', 'st-a:1:2']);
    // The stream version is its own field, beside the payload schema's.
    assert.ok(live.every((e) => e.metadata.version === '1'));
    const table = (await cli(config, tmp.dir, 'events', '--source', 'st-b')).trimEnd().split('\n');
    assert.equal(table.length, 4);
  });

  test('--from-version / fromVersion start a source\'s stream at that version', async () => {
    const fromCli = parseNdjson<EdgeEvent>(await cli(config, tmp.dir, 'events', '--json', '--source', 'st-a', '--from-version', '3'));
    assert.deepEqual(fromCli.map((e) => [e.version, e.id]), [[3, 'st-a:0:5'], [4, 'st-a:1:1'], [5, 'st-a:1:2']]);
    const fromApi = await getEvents(d!.httpUrl, { source: 'st-a', fromVersion: 4 });
    assert.deepEqual(fromApi.map((e) => e.id), ['st-a:1:1', 'st-a:1:2']);
    assert.deepEqual(fromApi, live.filter((e) => e.source === 'st-a').slice(3));
    assert.deepEqual(await getEvents(d!.httpUrl, { source: 'st-b', fromVersion: 2, limit: 1 }), [live.find((e) => e.source === 'st-b' && e.version === 2)]);
    assert.deepEqual(await getEvents(d!.httpUrl, { source: 'st-b', fromVersion: 4 }), []);
    // The live stream takes it too, and its events carry their versions.
    const stream = await follow(d!.httpUrl, { source: 'st-a', fromVersion: 4 });
    try {
      await waitFor(() => stream.events.length >= 2, { message: 'the followed stream' });
      assert.deepEqual(stream.events.map((e) => [e.version, e.id]), [[4, 'st-a:1:1'], [5, 'st-a:1:2']]);
    } finally {
      stream.close();
    }
  });

  test('--from-version without a source, or not a version, is a usage error', async () => {
    const noSource = await runCli(['events', '--from-version', '2', '--config', config], { cwd: tmp.dir });
    assert.equal(noSource.code, 1);
    assert.match(noSource.stderr, /--from-version needs --source/);
    for (const bad of ['x', '0', '-1', '1.5', '']) {
      const r = await runCli(['events', '--source', 'st-a', `--from-version=${bad}`, '--config', config], { cwd: tmp.dir });
      assert.equal(r.code, 1, `--from-version ${JSON.stringify(bad)}`);
      assert.match(r.stderr, /--from-version: expected a stream version \(an integer from 1\)/);
    }
    const res = await fetch(`${d!.httpUrl}/api/events?fromVersion=2`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /--from-version needs --source/);
  });

  test('streams (CLI --json and GET /api/streams): epoch, first/last seq, count, last seen, gaps, resets', async () => {
    liveStreams = await cli(config, tmp.dir, 'streams', '--json');
    const rows = parseNdjson<StreamSummary>(liveStreams);
    const api = parseNdjson<StreamSummary>(await (await fetch(`${d!.httpUrl}/api/streams`)).text());
    assert.deepEqual(api, rows);
    assert.deepEqual(rows.map((r) => r.source).sort(), ['st-a', 'st-b', GW]);
    const seqs = (source: string) => live.filter((e) => e.source === source).map((e) => e.seq);
    const row = (source: string) => rows.find((r) => r.source === source)!;
    const { lastSeen: seenA, ...a } = row('st-a');
    assert.deepEqual(a, { source: 'st-a', epoch: 1, firstSeq: seqs('st-a')[0], lastSeq: seqs('st-a')[4], firstVersion: 1, lastVersion: 5, count: 5, gaps: 1, resets: 1 });
    const { lastSeen: seenB, ...b } = row('st-b');
    assert.deepEqual(b, { source: 'st-b', epoch: 0, firstSeq: seqs('st-b')[0], lastSeq: seqs('st-b')[2], firstVersion: 1, lastVersion: 3, count: 3, gaps: 0, resets: 0 });
    // The notices are the gateway's events, counted against the device they are about.
    const gw = row(GW);
    assert.equal(gw.count, seqs(GW).length);
    assert.deepEqual([gw.gaps, gw.resets], [0, 0]);
    for (const seen of [seenA, seenB]) {
      assert.match(seen!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const t = Date.parse(seen!);
      assert.ok(t >= startedAt - 1_000 && t <= Date.now() + 1_000, `last seen ${seen}`);
    }
    assert.ok(Date.parse(seenA!) >= Date.parse(seenB!), 'st-a published last');
    const table = (await cli(config, tmp.dir, 'streams')).trimEnd().split('\n');
    assert.match(table[0], /^SOURCE\s+EPOCH\s+FIRST SEQ\s+LAST SEQ\s+COUNT\s+LAST SEEN\s+GAPS\s+RESETS$/);
    assert.match(table.find((l) => l.startsWith('st-a '))!, new RegExp(`^st-a\\s+1\\s+${a.firstSeq}\\s+${a.lastSeq}\\s+5\\s+${seenA}\\s+1\\s+1$`));
  });

  test('upstream batches (CBOR, from mosquitto) carry the versions as stored', () => {
    const upstream = new Map(cloud.events().map((e) => [e.seq, e.version]));
    assert.deepEqual(live.map((e) => upstream.get(e.seq)), live.map((e) => e.version));
  });

  test('an alert on its local topic carries its version', () => {
    const published = JSON.parse(alerts!.got[0].body) as EdgeEvent;
    const storedAlert = live.find((e) => e.id === published.id)!;
    assert.equal(storedAlert.type, 'Alert');
    assert.equal(published.version, storedAlert.version);
  });

  test('after a restart: the stopped store reads the same, and numbering goes on', async () => {
    d!.child.kill('SIGTERM');
    assert.equal((await d!.exited).code, 0);
    await endAll([device ?? undefined, alerts?.client]);
    // No daemon: the CLI opens the store itself, and must print what the API printed.
    assert.deepEqual(parseNdjson<EdgeEvent>(await cli(config, tmp.dir, 'events', '--json')), live);
    assert.equal(await cli(config, tmp.dir, 'streams', '--json'), liveStreams);

    d = await spawnDaemon(config);
    device = await connect(d.brokerUrl, { clientId: 'streams-e2e-2' });
    await publish(device, 'sensors/st-a/temperature', { seq: 3, value: 25 });
    await publish(device, 'sensors/st-b/temperature', { seq: 4, value: 23 });
    const a = await getEvents(d.httpUrl, { source: 'st-a', fromVersion: 6 });
    assert.deepEqual(a.map((e) => [e.version, e.id]), [[6, 'st-a:1:3']]);
    const b = await getEvents(d.httpUrl, { source: 'st-b', fromVersion: 4 });
    assert.deepEqual(b.map((e) => [e.version, e.id]), [[4, 'st-b:0:4']]);
    const rows = parseNdjson<StreamSummary>(await (await fetch(`${d.httpUrl}/api/streams`)).text());
    const rowA = rows.find((r) => r.source === 'st-a')!;
    assert.deepEqual([rowA.epoch, rowA.count, rowA.lastVersion, rowA.lastSeq, rowA.gaps, rowA.resets], [1, 6, 6, a[0].seq, 1, 1]);
    await cloud.waitForSeqs([a[0].seq, b[0].seq]);
    const upstream = new Map(cloud.events().map((e) => [e.seq, e.version]));
    assert.deepEqual([upstream.get(a[0].seq), upstream.get(b[0].seq)], [6, 4]);
  });
});
