// A fleet with real parts (README "Fleets"): five gateway daemons as child processes, each
// linked to one mosquitto through a TCP proxy of its own (so one link can be cut at a time),
// devices publishing readings at QoS 1, two sink copies writing into a PostgreSQL of this
// file's own. Links fail, a sink and a gateway are killed mid-stream, a desired config is
// pushed while one gateway is offline; at the end every acknowledged event is in the table
// exactly once, in each gateway's seq order, and every gateway took the config.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getEvents, getStatus } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { closed, connect, endAll, listen, type MqttClient } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startSink, type SinkProcess } from '../helpers/sink.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const TABLE = 'edgebus_events';
const FAST_RETRY = { initialDelay: '50ms', maxDelay: '300ms', multiplier: 2, jitter: true };
// Fires once per device when its readings pass 40: each gateway generates Alert events of its own.
const HOT = 'id: hot\nmatch: { type: DeviceData, sensor: temperature }\ngroupBy: source\nwhere: { value: { gt: 40 } }\n';

interface Gateway {
  id: string;
  dir: string;
  configFile: string;
  proxy: TcpProxy;
  d: ChildDaemon;
  device: MqttClient | null;
  /** the next reading's number: a device's readings carry value = 1, 2, 3 … */
  next: number;
  /** readings whose PUBACK the device got */
  acked: number[];
}

interface Report { gatewayId: string; version: string; status: string; errors: string[] }

const connected = async (g: Gateway): Promise<boolean> =>
  ((await getStatus(g.d.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected;

describe('a fleet of five gateways into PostgreSQL', () => {
  let broker: UpstreamBroker;
  let db: Postgres;
  let tmp: ReturnType<typeof tempDir>;
  let reports: { client: MqttClient; got: { topic: string; body: string }[] };
  const gateways: Gateway[] = [];
  const sinks: SinkProcess[] = [];

  const upDown = (g: Gateway, up: boolean) => waitFor(async () => (await connected(g)) === up, { timeout: 20_000, message: `${g.id} upstream ${up ? 'connected' : 'down'}` });

  async function attachDevice(g: Gateway): Promise<void> {
    g.device = await connect(g.d.brokerUrl, { clientId: `${g.id}-dev` });
  }

  /**
   * Publishes up to `n` readings one after another, each counted once its PUBACK arrives. A
   * connection that dies (the gateway killed) ends the burst: the reading in flight is not
   * acknowledged, so nothing is owed for it, though the gateway may have stored it.
   */
  async function burst(g: Gateway, n: number): Promise<void> {
    const device = g.device;
    if (!device) return;
    const gone = closed(device);
    for (let i = 0; i < n; i++) {
      const value = g.next++;
      const sent = device.publishAsync(`sensors/${g.id}-dev/temperature`, JSON.stringify({ value, unit: 'C' }), { qos: 1 }).then(() => 'acked' as const, () => 'failed' as const);
      if ((await Promise.race([sent, gone])) !== 'acked') return;
      g.acked.push(value);
    }
  }
  const burstAll = (n: number, gws: Gateway[] = gateways) => Promise.all(gws.map((g) => burst(g, n)));

  const countRows = async (): Promise<number> => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${TABLE}`))[0].n);
  const reportsOf = (version: string): Map<string, Report> => {
    const latest = new Map<string, Report>();
    for (const m of reports.got) {
      const r = JSON.parse(m.body) as Report;
      if (r.version === version) latest.set(r.gatewayId, r);
    }
    return latest;
  };
  const rulesDirs = (): Record<string, Record<string, string>> =>
    Object.fromEntries(gateways.map((g) => {
      const dir = join(g.dir, 'rules');
      return [g.id, Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]))];
    }));

  before(async () => {
    tmp = tempDir('edgebus-fleet-');
    [broker, db] = await Promise.all([startUpstreamBroker(), startPostgres()]);
    reports = await listen(broker.url, 'edgebus/+/config/reported');
    for (let i = 1; i <= 5; i++) {
      const id = `gw-${i}`;
      const dir = join(tmp.dir, id);
      mkdirSync(join(dir, 'rules'), { recursive: true });
      const proxy = await startTcpProxy(broker.port);
      const configFile = writeConfig(dir, {
        gatewayId: id,
        upstream: { url: proxy.url, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 50, linger: '20ms' } },
      });
      gateways.push({ id, dir, configFile, proxy, d: await spawnDaemon(configFile), device: null, next: 1, acked: [] });
    }
    for (const g of gateways) {
      await upDown(g, true);
      await attachDevice(g);
    }
    for (const clientId of ['sink-a', 'sink-b']) sinks.push(await startSink(tmp.dir, { brokerUrl: broker.url, postgresUrl: db.url, clientId, table: TABLE }));
  });

  after(async () => {
    await endAll([reports?.client, ...gateways.map((g) => g.device ?? undefined)]);
    for (const g of gateways) await killDaemon(g.d);
    for (const s of sinks) await s.stop().catch(() => {});
    for (const g of gateways) await g.proxy.close();
    await broker?.stop();
    await db?.destroy();
    tmp?.cleanup();
  });

  it('lands every acknowledged event exactly once through cuts, kills and a config push during an outage', async () => {
    const [gw1, gw2, gw3, gw4, gw5] = gateways;
    const [sinkA] = sinks;
    await burstAll(30);

    // gw-1 offline while everyone publishes: its readings wait in its log.
    gw1.proxy.cut();
    await upDown(gw1, false);
    await burstAll(30);

    // A sink killed while batches flow: what it held comes back to it under its client id.
    const before = await countRows();
    const flowing = burstAll(60);
    await waitFor(async () => (await sinkA.metric('edgebus_sink_batches_total', { outcome: 'written' })) > 0 && (await countRows()) > before + 50, { timeout: 20_000, message: 'batches flowing into PostgreSQL' });
    await sinkA.kill9();
    await flowing;
    await sinkA.restart();

    // gw-1 back, gw-3 out: and the push lands while gw-3 cannot hear it.
    gw1.proxy.restore();
    gw3.proxy.cut();
    await upDown(gw3, false);
    const v1 = join(tmp.dir, 'v1.json');
    writeFileSync(v1, JSON.stringify({ version: 'v1', rules: { 'hot.yaml': HOT } }));
    const pushed = runCli(['fleet', 'push', v1, '--url', broker.url, '--fleet', '--gateways', '5', '--timeout', '120s']);
    await waitFor(() => reportsOf('v1').size >= 4, { timeout: 30_000, message: `four reports of v1 (${[...reportsOf('v1').keys()].join(', ')})` });
    assert.ok(!reportsOf('v1').has(gw3.id), 'the offline gateway has not reported yet');

    // gw-2 killed -9 mid-stream, while gw-3 is still out; then started again on its data dir.
    const ackedBefore = gw2.acked.length;
    const stream = Promise.all([burst(gw2, 100_000), burstAll(40, [gw1, gw3, gw4, gw5])]);
    await waitFor(() => gw2.acked.length >= ackedBefore + 40, { timeout: 20_000, message: 'gw-2 taking readings' });
    gw2.d.child.kill('SIGKILL');
    await gw2.d.exited;
    await stream;
    await endAll([gw2.device ?? undefined]);
    gw2.d = await spawnDaemon(gw2.configFile);
    await upDown(gw2, true);
    await attachDevice(gw2);
    await burstAll(30);

    gw3.proxy.restore();
    const push = await pushed;
    assert.equal(push.code, 0, push.stdout + push.stderr);
    for (const g of gateways) assert.match(push.stdout, new RegExp(`^${g.id}\tapplied`, 'm'));

    // Later outages of gw-4 and gw-5, overlapping, with readings past 40 so the new rule fires.
    gw4.proxy.cut();
    await upDown(gw4, false);
    await burstAll(30);
    gw5.proxy.cut();
    await upDown(gw5, false);
    gw4.proxy.restore();
    await burstAll(30);
    gw5.proxy.restore();
    await burstAll(20);

    for (const g of gateways) {
      const r = reportsOf('v1').get(g.id);
      assert.equal(r?.status, 'applied', `${g.id}: ${JSON.stringify(r)}`);
      assert.equal(readFileSync(join(g.dir, 'rules', 'hot.yaml'), 'utf8'), HOT);
      const alerts = await getEvents(g.d.httpUrl, { type: 'Alert' });
      assert.ok(alerts.some((e) => e.payload.rule === 'hot'), `${g.id} raised alerts of the pushed rule`);
    }

    // Every gateway's whole log in the table: each event once, in seq order, nothing else.
    const logs = new Map<string, { id: string; seq: number }[]>();
    await waitFor(async () => {
      for (const g of gateways) logs.set(g.id, (await getEvents(g.d.httpUrl, { limit: 1_000_000 })).map((e) => ({ id: e.id, seq: e.seq })));
      const want = [...logs.values()].reduce((n, l) => n + l.length, 0);
      return (await countRows()) >= want;
    }, { timeout: 60_000, message: `the logs in PostgreSQL; sinks said: ${sinks.map((s) => s.output().slice(-2000)).join('\n')}` });
    for (const g of gateways) {
      const rows = await db.query<{ id: string; seq: string }>(`SELECT id, seq FROM ${TABLE} WHERE gateway_id = $1 ORDER BY seq`, [g.id]);
      assert.deepEqual(rows.map((r) => ({ id: r.id, seq: Number(r.seq) })), logs.get(g.id), `${g.id}: its log, each event once, in seq order`);
    }
    assert.equal(await countRows(), [...logs.values()].reduce((n, l) => n + l.length, 0), 'nothing twice, nothing from elsewhere');

    // Every reading a device saw acknowledged, once.
    for (const g of gateways) {
      const rows = await db.query<{ value: string; n: string }>(
        `SELECT payload->'payload'->>'value' AS value, count(*) AS n FROM ${TABLE} WHERE gateway_id = $1 AND source = $2 AND type = 'DeviceData' GROUP BY 1`, [g.id, `${g.id}-dev`]);
      const landed = new Map(rows.map((r) => [Number(r.value), Number(r.n)]));
      const missing = g.acked.filter((v) => landed.get(v) !== 1);
      assert.deepEqual(missing, [], `${g.id}: acknowledged readings not in PostgreSQL exactly once`);
      assert.ok(g.acked.length >= 150, `${g.id} published through the whole run (${g.acked.length})`);
    }
    assert.ok(await sinkA.metric('edgebus_sink_events_inserted_total') > 0, 'the restarted sink took its share');
  });

  it('reports a config with a broken rule rejected by every gateway, with the error, changing nothing', async () => {
    const rulesBefore = rulesDirs();
    const loadedBefore = await Promise.all(gateways.map(async (g) => ((await getStatus(g.d.httpUrl)) as { rules: { loaded: number } }).rules.loaded));
    const v2 = join(tmp.dir, 'v2.json');
    writeFileSync(v2, JSON.stringify({ version: 'v2', rules: { 'hot.yaml': HOT, 'cold.yaml': HOT.replace('id: hot', 'id: cold').replace('gt: 40', 'ltx: 5') } }));
    const push = await runCli(['fleet', 'push', v2, '--url', broker.url, '--fleet', '--gateways', '5', '--timeout', '60s']);
    assert.equal(push.code, 1, push.stdout + push.stderr);
    for (const g of gateways) {
      assert.match(push.stdout, new RegExp(`^${g.id}\trejected$`, 'm'));
      const r = reportsOf('v2').get(g.id);
      assert.equal(r?.status, 'rejected');
      assert.equal(r.errors.length, 1, r.errors.join('\n'));
      assert.match(r.errors[0], /^rules\/cold\.yaml:4: where\.value\.ltx: unknown operator "ltx"/);
    }
    assert.equal(push.stdout.match(/^ {2}rules\/cold\.yaml:4: where\.value\.ltx: unknown operator "ltx"/gm)?.length, 5, push.stdout);
    assert.deepEqual(rulesDirs(), rulesBefore, 'no rules file written or removed');
    const loadedAfter = await Promise.all(gateways.map(async (g) => ((await getStatus(g.d.httpUrl)) as { rules: { loaded: number } }).rules.loaded));
    assert.deepEqual(loadedAfter, loadedBefore, 'the loaded rules are the same');
  });
});
