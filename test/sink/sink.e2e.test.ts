// `edgebus sink` with real parts (README "Sink"): gateway daemons forward through mosquitto
// (shared subscriptions, persistent sessions) to sink processes writing into a PostgreSQL of
// this file's own. Every check ends in the table: each acknowledged event exactly once.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getEvents, getStatus } from '../helpers/api.js';
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

  async function sink(clientId: string, table: string, extra: Record<string, unknown> = {}): Promise<SinkProcess> {
    const s = await startSink(tmp.dir, { brokerUrl: broker.url, postgresUrl: db.url, clientId, table, ...extra });
    sinks.push(s);
    return s;
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
    const s = await sink('sink-a', 'edgebus_events');
    const [a, b] = [await gateway('gw-a'), await gateway('gw-b')];
    await Promise.all([readings(a, 150), readings(b, 150)]);
    await landedExactlyOnce('edgebus_events');
    const row = (await db.query<{ payload: Record<string, unknown>; type: string; source: string }>(`SELECT payload, type, source FROM edgebus_events WHERE gateway_id = 'gw-a' ORDER BY seq LIMIT 1`))[0];
    const first = (await getEvents(a.d.httpUrl, { limit: 1 }))[0];
    assert.deepEqual({ ...row.payload, correctedTimestamp: undefined }, { ...first, correctedTimestamp: undefined }, 'the whole event as JSONB');
    assert.equal(row.type, first.type);
    const events = await count('edgebus_events');
    assert.equal(await s.metric('edgebus_sink_events_inserted_total'), events);
    assert.ok(await s.metric('edgebus_sink_batches_total', { outcome: 'written' }) >= events / 20);
    await s.stop();
  });
});
