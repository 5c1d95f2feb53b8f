// MQTT ingest end to end inside one process: real Aedes over TCP, MQTT.js clients, a
// LevelDB on disk. The store is private to the daemon, so the log is read through the
// HTTP API. (A publish the store cannot take — SPEC §3 — needs a real I/O fault, which
// only a child process can be given: see store-fault.e2e.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getDlq, getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { closed, connect, endAll, nextMessage, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const INGEST = [
  { topic: 'sensors/{device}/{sensor}', type: 'DeviceData' },
  { topic: 'devices/{device}/status', type: 'DeviceStatus' },
  { topic: 'erp/{line}/orders', type: 'BusinessEvent', source: 'line-{line}' },
];

const ids = (events: readonly EdgeEvent[]) => events.map((e) => e.id);

describe('MQTT ingest (reorder window 30s)', () => {
  const tmp = tempDir();
  let d: RunningDaemon;
  let client: MqttClient;

  before(async () => {
    d = await startDaemon(tmp.dir, { ingest: INGEST, store: { reorderWindow: '30s' } });
    client = await connect(d.brokerUrl, { clientId: 'broker-int' });
  });
  after(async () => {
    await endAll([client]);
    await d?.stop();
    tmp.cleanup();
  });

  test('a QoS 1 PUBACK comes only after the event is committed, and it is readable then', async () => {
    const appended = new Set<string>();
    const order: string[] = [];
    d.daemon.bus.on('test', 'appended', (events) => {
      for (const e of events) {
        if (e.source !== 'ack-dev') continue;
        appended.add(e.id);
        order.push(`appended ${e.id}`);
      }
    });
    try {
      for (let i = 1; i <= 3; i++) {
        await publish(client, 'sensors/ack-dev/temperature', { id: `ack-${i}`, value: i });
        order.push(`puback ack-${i}`);
        const stored = await getEvents(d.httpUrl, { source: 'ack-dev' });
        assert.ok(ids(stored).includes(`ack-${i}`), `ack-${i} is in the log once its PUBACK arrived`);
      }
      assert.deepEqual(order, [1, 2, 3].flatMap((i) => [`appended ack-${i}`, `puback ack-${i}`]));
      // Many in flight at once (several commit groups): each PUBACK finds its event committed.
      const early: string[] = [];
      await Promise.all(Array.from({ length: 60 }, (_, i) => {
        const id = `burst-${i}`;
        return publish(client, 'sensors/ack-dev/temperature', { id, value: i }).then(() => {
          if (!appended.has(id)) early.push(id);
        });
      }));
      assert.deepEqual(early, [], 'PUBACKs that arrived before their commit');
      const stored = new Set(ids(await getEvents(d.httpUrl, { source: 'ack-dev' })));
      for (let i = 0; i < 60; i++) assert.ok(stored.has(`burst-${i}`));
    } finally {
      d.daemon.bus.removeOwner('test');
    }
  });

  test('malformed payloads are acknowledged, kept with reason and raw bytes, never stored as events', async () => {
    const cases = [
      { topic: 'sensors/bad-dev/json', payload: Buffer.from('{"value": 21'), reason: 'malformed-json' },
      { topic: 'sensors/bad-dev/utf8', payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), reason: 'invalid-utf8' },
      { topic: 'sensors/bad-dev/text', payload: Buffer.from('warm'), reason: 'invalid-value' },
      { topic: 'sensors/bad-dev/empty', payload: Buffer.alloc(0), reason: 'empty-payload' },
    ];
    for (const c of cases) await publish(client, c.topic, c.payload); // each resolves on its PUBACK
    const dlq = await getDlq(d.httpUrl);
    for (const c of cases) {
      const rec = dlq.filter((r) => r.topic === c.topic);
      assert.equal(rec.length, 1, `one rejected record for ${c.topic}`);
      assert.equal(rec[0].reason, c.reason);
      assert.equal(rec[0].payload, c.payload.toString('base64'));
      assert.ok(rec[0].detail.length > 0);
      assert.equal(rec[0].clientId, 'broker-int');
    }
    const metrics = await getMetrics(d.httpUrl);
    for (const c of cases) assert.equal(metricValue(metrics, 'edgebus_events_rejected_total', { reason: c.reason }), 1, c.reason);
    assert.equal(metricValue(metrics, 'edgebus_dlq_events'), cases.length);
    assert.deepEqual(await getEvents(d.httpUrl, { source: 'bad-dev' }), []);
  });

  test('a duplicate explicit id and a duplicate device seq are acknowledged, counted and stored once', async () => {
    const before = metricValue(await getMetrics(d.httpUrl), 'edgebus_events_duplicate_total') ?? 0;
    await publish(client, 'sensors/dup-id/t', { id: 'dup-1', value: 1 });
    await publish(client, 'sensors/dup-id/t', { id: 'dup-1', value: 2 });
    await publish(client, 'sensors/dup-seq/t', { seq: 1, value: 1 });
    await publish(client, 'sensors/dup-seq/t', { seq: 1, value: 2 });
    const metrics = await getMetrics(d.httpUrl);
    assert.equal(metricValue(metrics, 'edgebus_events_duplicate_total'), before + 2);
    const byId = await getEvents(d.httpUrl, { source: 'dup-id' });
    assert.deepEqual(byId.map((e) => [e.id, e.sensor?.value]), [['dup-1', 1]]);
    const bySeq = await getEvents(d.httpUrl, { source: 'dup-seq' });
    assert.deepEqual(bySeq.map((e) => [e.id, e.sensor?.value]), [['dup-seq:0:1', 1]]);
  });

  test('seq 1, 3, then 2 is stored in device order 1, 2, 3', async () => {
    for (const seq of [1, 3, 2]) await publish(client, 'sensors/ord-dev/t', { seq, value: seq * 10 });
    const events = await getEvents(d.httpUrl, { source: 'ord-dev' });
    assert.deepEqual(ids(events), ['ord-dev:0:1', 'ord-dev:0:2', 'ord-dev:0:3']);
    assert.deepEqual(events.map((e) => e.sensor?.value), [10, 20, 30]);
    assert.ok(events[0].seq < events[1].seq && events[1].seq < events[2].seq);
  });

  test('a device that counts from 1 again opens a new epoch with a sequence-reset event', async () => {
    for (const seq of [1, 2, 3, 4, 5, 1]) await publish(client, 'sensors/reset-dev/t', { seq, value: seq });
    const all = await getEvents(d.httpUrl);
    const mine = all.filter((e) => e.source === 'reset-dev' || (e.type === 'SystemEvent' && e.payload.source === 'reset-dev'));
    assert.deepEqual(ids(mine.filter((e) => e.type === 'DeviceData')), [1, 2, 3, 4, 5].map((s) => `reset-dev:0:${s}`).concat('reset-dev:1:1'));
    const at = mine.findIndex((e) => e.type === 'SystemEvent');
    assert.equal(at, 5, 'the reset is logged between the old epoch and the new reading');
    assert.equal(mine[at].payload.kind, 'sequence-reset');
    assert.equal(mine[at].payload.epoch, 1);
    assert.equal(mine[at].source, 'test-gw');
    assert.equal(mine[6].sensor?.value, 1);
  });

  test('bare numbers and JSON readings become DeviceData with sensor fields', async () => {
    await publish(client, 'sensors/map-dev/temperature', '21.5');
    await publish(client, 'sensors/map-dev/humidity', { value: 55, unit: '%', accuracy: 0.5, ts: '2026-01-02T03:04:05.678Z' });
    const [bare, json] = await getEvents(d.httpUrl, { source: 'map-dev' });
    assert.equal(bare.type, 'DeviceData');
    assert.deepEqual(bare.payload, { value: 21.5 });
    assert.deepEqual(bare.device, { id: 'map-dev' });
    assert.deepEqual(bare.sensor, { type: 'temperature', value: 21.5, unit: null, accuracy: null, timestamp: bare.timestamp });
    assert.match(bare.id, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'a gateway-made ULID');
    assert.deepEqual(bare.metadata, { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null, clock: 'synced' });
    assert.equal(json.timestamp, '2026-01-02T03:04:05.678Z');
    assert.deepEqual(json.sensor, { type: 'humidity', value: 55, unit: '%', accuracy: 0.5, timestamp: '2026-01-02T03:04:05.678Z' });
    assert.equal(json.payload.value, 55);
  });

  test('devices/<d>/status online becomes a DeviceStatus event', async () => {
    await publish(client, 'devices/stat-dev/status', 'online');
    const events = await getEvents(d.httpUrl, { source: 'stat-dev' });
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'DeviceStatus');
    assert.deepEqual(events[0].payload, { state: 'online' });
    assert.deepEqual(events[0].device, { id: 'stat-dev' });
  });

  test('an unmapped topic passes through the broker and is not stored', async () => {
    const sub = await connect(d.brokerUrl);
    try {
      const next = await nextMessage(sub, 'misc/hello');
      const lastSeq = (await getStatus(d.httpUrl)).lastSeq as number;
      await publish(client, 'misc/hello', 'hi there');
      const msg = await next();
      assert.equal(msg.payload.toString(), 'hi there');
      await publish(client, 'sensors/pass-dev/marker', '1');
      const [marker] = await getEvents(d.httpUrl, { source: 'pass-dev' });
      assert.equal(marker.seq, lastSeq + 1, 'nothing was appended for the pass-through message');
    } finally {
      await endAll([sub]);
    }
  });

  test('a custom ingest mapping from the config is applied', async () => {
    await publish(client, 'erp/7/orders', { order: 42, customer: 'acme' });
    const events = await getEvents(d.httpUrl, { source: 'line-7' });
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'BusinessEvent');
    assert.deepEqual(events[0].payload, { order: 42, customer: 'acme' });
  });

  test('a publish to $SYS/ is refused: no PUBACK, the client is disconnected', async () => {
    const rogue = await connect(d.brokerUrl);
    try {
      const gone = closed(rogue);
      const outcome = await Promise.race([
        publish(rogue, '$SYS/x', 'spoofed').then(() => 'acked', () => 'refused'),
        gone,
      ]);
      assert.notEqual(outcome, 'acked');
      await gone;
    } finally {
      await endAll([rogue]);
    }
  });
});

describe('MQTT ingest: a gap is released after the reorder window (300ms)', () => {
  const tmp = tempDir();
  let d: RunningDaemon;
  let client: MqttClient;

  before(async () => {
    d = await startDaemon(tmp.dir, { store: { reorderWindow: '300ms' } });
    client = await connect(d.brokerUrl);
  });
  after(async () => {
    await endAll([client]);
    await d?.stop();
    tmp.cleanup();
  });

  test('seq 1 and 3 without 2: a sequence-gap SystemEvent, then 3', async () => {
    await publish(client, 'sensors/gap-dev/t', { seq: 1, value: 1 });
    await publish(client, 'sensors/gap-dev/t', { seq: 3, value: 3 });
    const events = await waitFor(async () => {
      const all = await getEvents(d.httpUrl);
      return all.length >= 3 && all;
    }, { timeout: 5_000, message: 'the gap to be released' });
    assert.equal(events.length, 3);
    assert.deepEqual(events.map((e) => e.type), ['DeviceData', 'SystemEvent', 'DeviceData']);
    assert.deepEqual(ids([events[0], events[2]]), ['gap-dev:0:1', 'gap-dev:0:3']);
    const gap = events[1];
    assert.equal(gap.source, 'test-gw');
    assert.equal(gap.payload.kind, 'sequence-gap');
    assert.equal(gap.payload.source, 'gap-dev');
    assert.deepEqual(gap.payload.missing, [2, 2]);
    assert.deepEqual(events.map((e) => e.seq), [1, 2, 3]);
  });
});
