// `edgebus checkpoint set|list|rm` against a real daemon forwarding to mosquitto through
// routes: through the HTTP API (with its token) while the daemon runs, on the store
// directly once it is stopped, and what was set either way is there after a restart. The
// forwarder's cursor is listed as `upstream`, and once per upstream route.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metricValue } from '../helpers/api.js';
import { runCli, startDaemon, writeConfig, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';
import type { CheckpointView } from '../../src/store/checkpoints.js';

const TOKEN = 'cp-token';
const auth = { authorization: `Bearer ${TOKEN}` };

type View = CheckpointView;

describe('edgebus checkpoint', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: UpstreamBroker;
  let overrides: ConfigYaml;
  let configFile: string;
  let d: RunningDaemon | null = null;
  /** The log's last seq once the readings below are stored and forwarded. */
  let last = 0;
  /** Between the two bursts: `--at time:` of it marks the first burst's last event. */
  let between = '';
  let firstBurstEnd = 0;

  before(async () => {
    tmp = tempDir();
    broker = await startUpstreamBroker();
    overrides = {
      http: { token: TOKEN },
      upstream: { url: broker.url, topic: 'cloud/{gatewayId}/events', retry: { initialDelay: '20ms', maxDelay: '100ms' }, batch: { maxEvents: 10, linger: '10ms' } },
      routes: [
        { name: 'alerts', match: { type: 'Alert' }, upstream: 'cloud/{gatewayId}/alerts', priority: 5 },
        { match: { type: 'DeviceData' }, upstream: 'cloud/{gatewayId}/data' },
        { name: 'stay-here', match: { source: 'loc-*' }, local: 'local/{source}' },
      ],
    };
    configFile = writeConfig(tmp.dir, overrides);
    d = await startDaemon(tmp.dir, overrides);
    const device: MqttClient = await connect(d.brokerUrl);
    try {
      for (let i = 1; i <= 3; i++) await publish(device, 'sensors/cp-1/temperature', { value: i, id: `a-${i}` });
      firstBurstEnd = await waitFor(() => lastStored(3), { message: 'the first burst stored' });
      const t = Date.now();
      between = new Date(t).toISOString();
      // The next burst is received after `between`, on a later millisecond than the first's marks.
      await waitFor(() => Date.now() > t + 1, { message: 'a millisecond passing' });
      for (let i = 1; i <= 3; i++) await publish(device, 'sensors/cp-1/temperature', { value: i, id: `b-${i}` });
      last = await waitFor(() => lastStored(6), { message: 'the second burst stored' });
    } finally {
      await device.endAsync();
    }
    await waitFor(async () => metricValue(await (await fetch(`${d!.httpUrl}/metrics`, { headers: auth })).text(), 'edgebus_upstream_backlog_events') === 0, { message: 'everything forwarded' });
  });
  after(async () => {
    await d?.stop();
    await broker.stop();
    tmp.cleanup();
  });

  async function api<T>(method: string, path: string, body?: object, headers: Record<string, string> = auth): Promise<T & { status: number }> {
    const res = await fetch(`${d!.httpUrl}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { ...((await res.json()) as T), status: res.status };
  }

  /** The last stored seq once `count` readings of cp-1 are in the log. */
  async function lastStored(count: number): Promise<number | null> {
    const res = await fetch(`${d!.httpUrl}/api/events?source=cp-1`, { headers: auth });
    const seqs = (await res.text()).trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
    return seqs.length === count ? seqs[count - 1] : null;
  }

  const cli = (...args: string[]) => runCli([...args, '--config', configFile], { cwd: tmp.dir });

  async function list(): Promise<View[]> {
    const r = await cli('checkpoint', 'list', '--json');
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as View);
  }

  async function expectUsage(args: string[], message: RegExp): Promise<void> {
    const r = await cli(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }

  it('lists the forwarder\'s cursor as `upstream` and per upstream route, read-only', async () => {
    const views = await list();
    assert.deepEqual(views.map((v) => [v.name, v.seq, v.after, v.readOnly]), [
      ['upstream', last, 0, true], ['upstream:alerts', last, 0, true], ['upstream:routes.1', last, 0, true],
    ], 'the cursor after a drain is the last seq; the local route has none');
    assert.match(views[1].note!, /shares the forwarder's cursor/);
    assert.equal(views[0].setAt, null);
    assert.ok(views[0].time !== null, 'the forwarded event\'s time');
  });

  it('sets, lists and removes checkpoints through the running daemon', async () => {
    let r = await cli('checkpoint', 'set', 'first', '--at', 'seq:1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^checkpoint first at seq 1 \\(.+\\), ${last - 1} events after it\\n$`));
    r = await cli('checkpoint', 'set', 'latest');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^checkpoint latest at seq ${last} `));
    r = await cli('checkpoint', 'set', 'by-time', '--at', `time:${between}`);
    assert.equal(r.code, 0, r.stderr);

    const views = await list();
    const named = views.filter((v) => !v.readOnly);
    assert.deepEqual(named.map((v) => [v.name, v.seq, v.after, v.at]), [
      ['by-time', firstBurstEnd, last - firstBurstEnd, `time:${between}`], ['first', 1, last - 1, 'seq:1'], ['latest', last, 0, 'now'],
    ]);
    for (const v of named) assert.ok(Math.abs(Date.parse(v.setAt!) - Date.now()) < 60_000, `${v.name} set just now`);

    const table = await cli('checkpoint', 'list');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+SEQ\s+TIME\s+SET AT\s+AFTER\s+NOTE\n/);
    assert.match(table.stdout, new RegExp(`\\nfirst\\s+1\\s+\\S+\\s+\\S+\\s+${last - 1}\\s+--at seq:1\\n`));

    r = await cli('checkpoint', 'rm', 'first');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'removed checkpoint first\n');
    assert.deepEqual((await list()).filter((v) => !v.readOnly).map((v) => v.name), ['by-time', 'latest']);
  });

  it('refuses bad names, reserved names and bad --at with a usage error', async () => {
    await expectUsage(['checkpoint', 'set', 'upstream'], /checkpoint "upstream" is the forwarder's cursor: .*cannot be set or removed/);
    await expectUsage(['checkpoint', 'rm', 'upstream'], /forwarder's cursor/);
    await expectUsage(['checkpoint', 'rm', 'upstream:alerts'], /forwarder's cursor/);
    await expectUsage(['checkpoint', 'set', 'two words'], /checkpoint name "two words": expected 1 to 64 of A-Z a-z 0-9 \. _ -/);
    await expectUsage(['checkpoint', 'set', 'x'.repeat(65)], /expected 1 to 64/);
    await expectUsage(['checkpoint', 'set', 'ok', '--at', 'seq:x'], /--at seq:N: expected a non-negative integer/);
    await expectUsage(['checkpoint', 'set', 'ok', '--at', `seq:${last + 1000}`], new RegExp(`the log's last seq is ${last}`));
    await expectUsage(['checkpoint', 'set', 'ok', '--at', 'tomorrow'], /--at: expected now, seq:N or time:ISO, got "tomorrow"/);
    await expectUsage(['checkpoint', 'set', 'ok', '--at', 'time:soon'], /--at time:ISO: expected an ISO 8601 time/);
    await expectUsage(['checkpoint', 'rm', 'nosuch'], /no checkpoint named "nosuch" \(known: by-time, latest\)/);
    await expectUsage(['checkpoint', 'set'], /checkpoint set: expected one NAME, got 0/);
    await expectUsage(['checkpoint', 'frob'], /checkpoint: expected set, list or rm, got "frob"/);
    await expectUsage(['replay', '--from', 'checkpoint:nosuch'], /--from checkpoint:nosuch: no such checkpoint \(known: upstream, upstream:alerts, upstream:routes\.1, by-time, latest\)/);
    assert.deepEqual((await list()).filter((v) => !v.readOnly).map((v) => v.name), ['by-time', 'latest'], 'nothing set by a refused request');
  });

  it('serves /api/checkpoints behind the API token', async () => {
    assert.equal((await api('GET', '/api/checkpoints', undefined, {})).status, 401);
    assert.equal((await api('PUT', '/api/checkpoints/sneaky', { at: 'now' }, {})).status, 401);
    const put = await api<{ checkpoint: View }>('PUT', '/api/checkpoints/api-set', { at: 'seq:2' });
    assert.equal(put.status, 200);
    assert.deepEqual([put.checkpoint.name, put.checkpoint.seq, put.checkpoint.after], ['api-set', 2, last - 2]);
    const post = await api<{ checkpoint: View }>('POST', '/api/checkpoints/api-post', {});
    assert.deepEqual([post.status, post.checkpoint.seq, post.checkpoint.at], [200, last, 'now']);
    const listed = await api<{ checkpoints: View[] }>('GET', '/api/checkpoints');
    assert.deepEqual(listed.checkpoints.map((v) => v.name), ['upstream', 'upstream:alerts', 'upstream:routes.1', 'api-post', 'api-set', 'by-time', 'latest']);
    assert.deepEqual([(await api('DELETE', '/api/checkpoints/api-set')).status, (await api('DELETE', '/api/checkpoints/api-post')).status], [200, 200]);
    const gone = await api<{ error: string }>('DELETE', '/api/checkpoints/api-set');
    assert.deepEqual([gone.status, gone.error], [404, 'no checkpoint named "api-set" (known: by-time, latest)']);
    assert.equal((await api('PUT', '/api/checkpoints/upstream', {})).status, 400);
    assert.equal((await api('PUT', '/api/checkpoints/ok', { at: 5 })).status, 400);
    assert.equal((await api('DELETE', '/api/checkpoints')).status, 405);
  });

  it('works on the store directly with the daemon stopped, and what it sets lasts', async () => {
    await d!.stop();
    d = null;
    let views = await list();
    assert.deepEqual(views.filter((v) => v.readOnly).map((v) => [v.name, v.seq]), [['upstream', last], ['upstream:alerts', last], ['upstream:routes.1', last]],
      'the cursor as the forwarder saved it at stop');
    assert.deepEqual(views.filter((v) => !v.readOnly).map((v) => [v.name, v.seq]), [['by-time', firstBurstEnd], ['latest', last]]);

    let r = await cli('checkpoint', 'set', 'offline', '--at', 'seq:2');
    assert.equal(r.code, 0, r.stderr);
    r = await cli('checkpoint', 'set', 'offline-time', '--at', `time:${between}`);
    assert.equal(r.code, 0, r.stderr);
    r = await cli('checkpoint', 'set', 'offline-now');
    assert.equal(r.code, 0, r.stderr);
    r = await cli('checkpoint', 'rm', 'latest');
    assert.equal(r.code, 0, r.stderr);
    await expectUsage(['checkpoint', 'set', 'upstream'], /forwarder's cursor/);
    await expectUsage(['checkpoint', 'set', 'bad/name'], /expected 1 to 64/);
    await expectUsage(['checkpoint', 'set', 'ok', '--at', 'seq:-3'], /non-negative integer/);
    await expectUsage(['checkpoint', 'rm', 'latest'], /no checkpoint named "latest" \(known: by-time, offline, offline-now, offline-time\)/);

    d = await startDaemon(tmp.dir, overrides);
    views = await list();
    assert.deepEqual(views.filter((v) => !v.readOnly).map((v) => [v.name, v.seq, v.at]), [
      ['by-time', firstBurstEnd, `time:${between}`], ['offline', 2, 'seq:2'], ['offline-now', last, 'now'], ['offline-time', firstBurstEnd, `time:${between}`],
    ]);
  });
});
