// `edgebus sink` with real parts (README "Fleets" › "The sink"): gateway daemons forward through mosquitto
// (shared subscriptions, persistent sessions) to sink processes writing into a PostgreSQL of
// this file's own. Every check ends in the table: each acknowledged event exactly once.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { getEvents, getStatus } from '../helpers/api.js';
import { ROOT } from '../helpers/paths.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startSink, type SinkProcess } from '../helpers/sink.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

interface Gateway { id: string; d: RunningDaemon; device: MqttClient; next: number }

describe('edgebus sink', () => {
  let broker: UpstreamBroker;
  let db: Postgres;
  let tmp: ReturnType<typeof tempDir>;
  const gateways: Gateway[] = [];
  const sinks: SinkProcess[] = [];

  async function gateway(id: string): Promise<Gateway> {
    const dir = join(tmp.dir, id);
    mkdirSync(dir);
    const d = await startDaemon(dir, {
      gatewayId: id,
      upstream: { url: broker.url, keepalive: '2s', retry: { initialDelay: '50ms', maxDelay: '300ms' }, batch: { maxEvents: 20, linger: '10ms' } },
    });
    await waitFor(async () => (await getStatus(d.httpUrl) as { upstream: { connected: boolean } }).upstream.connected, { message: `${id} upstream connected` });
    const g = { id, d, device: await connect(d.brokerUrl), next: 1 };
    gateways.push(g);
    return g;
  }

  /** `n` readings, each acknowledged by the gateway (so stored, so owed upstream). */
  async function readings(g: Gateway, n: number): Promise<void> {
    for (let i = 0; i < n; i++, g.next++) await publish(g.device, `sensors/${g.id}-dev/temperature`, { value: 20 + (g.next % 7), unit: 'C', seq: g.next });
  }

  /** Each test has its own group and table, so a stopped copy's session holds nothing another test waits for. */
  async function sink(clientId: string, table: string, group: string, dryRun = false): Promise<SinkProcess> {
    const s = await startSink(tmp.dir, { brokerUrl: broker.url, postgresUrl: db.url, clientId, table, dryRun, extra: { group } });
    sinks.push(s);
    return s;
  }

  /**
   * Copies (by client id) with a write into `table` waiting on a lock, and how many writes each.
   * A copy whose first batch comes while the table is locked waits in the creation of its
   * tables (`CREATE … IF NOT EXISTS`, under an advisory lock) rather than in the INSERT: that
   * batch is taken and unacknowledged all the same.
   */
  async function writesWaiting(table: string): Promise<Map<string, number>> {
    const rows = await db.query<{ app: string; n: string }>(`SELECT application_name AS app, count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE 'edgebus-sink %' AND (query LIKE 'INSERT INTO ${table} %' OR query LIKE 'CREATE %${table}%' OR query LIKE '%pg_advisory_xact_lock%') GROUP BY application_name`);
    return new Map(rows.map((r) => [r.app.replace(/^edgebus-sink /, ''), Number(r.n)]));
  }

  const count = async (table: string): Promise<number> => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);

  /** Waits until the table holds every event of the gateways' logs, then checks it holds each once, by id and seq. */
  async function landedExactlyOnce(table: string, gws: Gateway[] = gateways): Promise<void> {
    const logs = new Map<string, { id: string; seq: number }[]>();
    for (const g of gws) logs.set(g.id, (await getEvents(g.d.httpUrl, { limit: 1_000_000 })).map((e) => ({ id: e.id, seq: e.seq })));
    const want = [...logs.values()].reduce((n, l) => n + l.length, 0);
    await waitFor(async () => (await count(table).catch(() => 0)) >= want, { timeout: 30_000, message: `${want} events in ${table} (have ${await count(table).catch(() => 0)}); sinks said: ${sinks.map((s) => s.output().slice(-2000)).join('\n')}` });
    for (const [id, log] of logs) {
      const rows = await db.query<{ id: string; seq: string }>(`SELECT id, seq FROM ${table} WHERE gateway_id = $1 ORDER BY seq`, [id]);
      assert.deepEqual(rows.map((r) => ({ id: r.id, seq: Number(r.seq) })), log, `${id}: each event once, in seq order`);
    }
    assert.equal(await count(table), want, 'nothing from elsewhere, nothing twice');
  }

  before(async () => {
    tmp = tempDir();
    [broker, db] = await Promise.all([startUpstreamBroker(), startPostgres()]);
  });
  after(async () => {
    for (const s of sinks) await s.stop().catch(() => {});
    for (const g of gateways) {
      await g.device.endAsync();
      await g.d.stop();
    }
    await broker.stop();
    await db.destroy();
    tmp.cleanup();
  });

  it('writes each event of every gateway once, in seq order, and counts batches and events on /metrics', async () => {
    const s = await sink('sink-a', 'edgebus_events', 'edgebus');
    const [a, b] = [await gateway('gw-a'), await gateway('gw-b')];
    await Promise.all([readings(a, 150), readings(b, 150)]);
    await landedExactlyOnce('edgebus_events');
    const row = (await db.query<{ payload: Record<string, unknown>; type: string; source: string; seq: string; timestamp: Date; corrected_timestamp: Date | null }>(`SELECT payload, type, source, seq, "timestamp", corrected_timestamp FROM edgebus_events WHERE gateway_id = 'gw-a' ORDER BY seq LIMIT 1`))[0];
    const first = (await getEvents(a.d.httpUrl, { limit: 1 }))[0];
    assert.deepEqual({ ...row.payload, correctedTimestamp: undefined }, { ...first, correctedTimestamp: undefined }, 'the whole event as JSONB');
    assert.equal(row.type, first.type);
    // The columns are taken out of the batch's JSON by the server: each must match its event.
    assert.deepEqual({ source: row.source, seq: Number(row.seq), timestamp: row.timestamp.toISOString() }, { source: first.source, seq: first.seq, timestamp: first.timestamp });
    assert.equal(typeof row.payload.correctedTimestamp, 'string', 'the batch carries a corrected timestamp');
    assert.equal(row.corrected_timestamp?.toISOString(), row.payload.correctedTimestamp);
    const events = await count('edgebus_events');
    assert.equal(await s.metric('edgebus_sink_events_inserted_total'), events);
    assert.ok(await s.metric('edgebus_sink_batches_total', { outcome: 'written' }) >= events / 20);
    await s.stop();
  });
  it('shares the batches between two copies in one group, each event written once', async () => {
    const [s1, s2] = [await sink('share-1', 'shared_events', 'share'), await sink('share-2', 'shared_events', 'share')];
    const g = await gateway('gw-share');
    await readings(g, 300);
    await landedExactlyOnce('shared_events', [g]);
    for (const s of [s1, s2]) assert.ok(await s.metric('edgebus_sink_events_inserted_total') > 0, `${s.clientId} wrote some`);
  });

  it('loses and doubles nothing when a copy is killed holding a batch, and gets it back under its client id', async () => {
    const [victim] = [await sink('kill-1', 'kill_events', 'kill'), await sink('kill-2', 'kill_events', 'kill')];
    const g = await gateway('gw-kill');
    await readings(g, 40);
    await landedExactlyOnce('kill_events', [g]);
    // A lock on the table holds both copies inside their INSERT: each has a batch taken and
    // not acknowledged when the victim dies.
    const lock = new pg.Client({ connectionString: db.url });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE kill_events IN ACCESS EXCLUSIVE MODE');
      await readings(g, 200);
      await waitFor(async () => (await writesWaiting('kill_events')).size === 2, { message: 'both copies inside a write' });
      await victim.kill9();
      await lock.query('ROLLBACK');
    } finally {
      await lock.end();
    }
    await victim.restart();
    await landedExactlyOnce('kill_events', [g]);
    // mosquitto kept the dead copy's batch for its client id, not for the other member.
    if (broker.kind === 'mosquitto') assert.ok(await victim.metric('edgebus_sink_events_inserted_total') > 0, 'the victim wrote what mosquitto kept for it, after the restart');
  });

  it('keeps a batch in flight on each connection, and a copy killed holding several gets every one back under its sessions', async () => {
    const s = await sink('multi', 'multi_events', 'multi');
    assert.equal(await s.metric('edgebus_sink_broker_connected'), 4, 'four connections by default');
    const g = await gateway('gw-multi');
    await readings(g, 20);
    await landedExactlyOnce('multi_events', [g]);
    // The table locked, each connection's batch waits inside its INSERT: the copy holds one
    // unacknowledged batch per connection (and the broker more, sent ahead) when it dies.
    const lock = new pg.Client({ connectionString: db.url });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE multi_events IN ACCESS EXCLUSIVE MODE');
      await readings(g, 300);
      await waitFor(async () => (await writesWaiting('multi_events')).get('multi') === 4, { message: 'a write waiting on each of the four connections' });
      await s.kill9();
      await lock.query('ROLLBACK');
    } finally {
      await lock.end();
    }
    await s.restart();
    // The copy is the group's only member: what any of its four sessions held comes back to it, or never.
    await landedExactlyOnce('multi_events', [g]);
    assert.ok(await s.metric('edgebus_sink_events_inserted_total') > 0, 'the restarted copy wrote what its sessions kept');
  });

  it('stopped with a batch on each connection, finishes and acknowledges them all before it exits', async () => {
    const s = await sink('drain', 'drain_events', 'drain');
    const g = await gateway('gw-drain');
    await readings(g, 20);
    await landedExactlyOnce('drain_events', [g]);
    const lock = new pg.Client({ connectionString: db.url });
    await lock.connect();
    let stopped: Promise<void>;
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE drain_events IN ACCESS EXCLUSIVE MODE');
      await readings(g, 200);
      await waitFor(async () => (await writesWaiting('drain_events')).get('drain') === 4, { message: 'a write waiting on each of the four connections' });
      stopped = s.stop();
      await waitFor(() => s.output().includes('sink: stopping'), { message: `the copy stopping: ${s.output()}` });
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    await stopped;
    assert.ok(await count('drain_events') > 20, 'the writes in hand committed before the copy exited');
    await s.restart();
    await landedExactlyOnce('drain_events', [g]);
    // Acknowledged on the way out, those batches do not come back: nothing is written twice.
    assert.equal(await s.metric('edgebus_sink_events_duplicate_total'), 0);
  });

  it('waits while PostgreSQL is down, acknowledging nothing, and catches up when it returns', async () => {
    const s = await sink('pg-down', 'outage_events', 'outage');
    const g = await gateway('gw-outage');
    await readings(g, 20);
    await landedExactlyOnce('outage_events', [g]);
    await db.stop();
    try {
      await readings(g, 80);
      await waitFor(async () => await s.metric('edgebus_sink_write_errors_total') >= 2, { message: 'writes failing' });
      assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 503);
      assert.equal(await s.metric('edgebus_sink_postgres_up'), 0);
    } finally {
      await db.start();
    }
    await landedExactlyOnce('outage_events', [g]);
    assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200);
  });

  it('counts a batch delivered again (at QoS 1 or 0) as duplicates, and writes its events once', async () => {
    const s = await sink('dup', 'dup_events', 'dup');
    const golden = readFileSync(join(ROOT, 'test', 'fixtures', 'batches', 'v1.cbor'));
    const cloud = await connect(broker.url, { protocolVersion: 5 });
    try {
      for (let i = 0; i < 2; i++) await publish(cloud, 'edgebus/greenhouse-gw/events', golden);
      // Published at QoS 0, it arrives at QoS 0, outside the acknowledged path: still read.
      await cloud.publishAsync('edgebus/greenhouse-gw/events', golden, { qos: 0 });
    } finally {
      await cloud.endAsync();
    }
    await waitFor(async () => await s.metric('edgebus_sink_batches_total', { outcome: 'written' }) === 3, { message: 'all three deliveries written' });
    assert.equal(await s.metric('edgebus_sink_events_inserted_total'), 4);
    assert.equal(await s.metric('edgebus_sink_events_duplicate_total'), 8);
    assert.equal(await count('dup_events'), 4);
  });

  it('keeps what it cannot read as a dead letter and acknowledges it: it never comes back', async () => {
    const s = await sink('garbage', 'garbage_events', 'garbage');
    const cloud = await connect(broker.url, { protocolVersion: 5 });
    try {
      await publish(cloud, 'edgebus/junk/events', Buffer.from('not a batch'));
      await publish(cloud, 'edgebus/junk/events', { version: 9, gatewayId: 'junk', batch: 1, events: [] });
      await waitFor(async () => await s.metric('edgebus_sink_batches_total', { outcome: 'rejected' }) === 2, { message: 'both rejected' });
      // Written by whichever connections took them, so in either order.
      const rows = await db.query<{ topic: string; reason: string; payload: Buffer }>(`SELECT topic, reason, payload FROM garbage_events_rejected ORDER BY payload = 'not a batch'::bytea DESC`);
      assert.deepEqual(rows.map((r) => r.topic), ['edgebus/junk/events', 'edgebus/junk/events']);
      assert.match(rows[0].reason, /neither a CBOR nor a JSON map/);
      assert.equal(rows[0].payload.toString(), 'not a batch');
      assert.match(rows[1].reason, /^version: expected one of 1, got number 9/);
      // Killed and back under its client id: an unacknowledged message would come again now.
      await s.kill9();
      await s.restart();
      await publish(cloud, 'edgebus/greenhouse-gw/events', readFileSync(join(ROOT, 'test', 'fixtures', 'batches', 'v1.json')));
      await waitFor(async () => await count('garbage_events') === 4, { message: 'the good batch after them written' });
      assert.equal(await s.metric('edgebus_sink_batches_total', { outcome: 'rejected' }), 0);
      assert.equal((await db.query('SELECT 1 FROM garbage_events_rejected')).length, 2);
    } finally {
      await cloud.endAsync();
    }
  });

  it('--dry-run prints each event it would write, and writes and takes nothing', async () => {
    await sink('dry-real', 'dry_real_events', 'dry');
    const dry = await sink('dry', 'dry_events', 'dry', true);
    const g = await gateway('gw-dry');
    await readings(g, 30);
    await landedExactlyOnce('dry_real_events', [g]);
    const stored = await getEvents(g.d.httpUrl, { limit: 1000 });
    await waitFor(() => stored.every((e) => dry.output().includes(`would insert into dry_events: gw-dry ${e.id} seq=${e.seq} `)), { message: `dry-run lines: ${dry.output()}` });
    assert.deepEqual(await db.query(`SELECT to_regclass('dry_events') AS t`), [{ t: null }]);
  });
});
