import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeEvent } from '../../src/events/types.js';
import { EventStore, STORE_SCHEMA_VERSION, StoreVersionError } from '../../src/store/event-store.js';
import { UnknownEventIdError } from '../../src/store/log-reader.js';
import { countRejected, countRejectedEntries, listRejected, makeRejected } from '../../src/store/rejected.js';
import { draftOn, normalizeOn } from '../helpers/drafts.js';
import { idsOf, openRig, range, readAll, seqsOf, storeDir, type StoreRig } from '../helpers/store.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('appending', () => {
  test('seq is strictly increasing and gap-free from 1, across groups and restarts', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    // One burst (one or more groups), then one event per write.
    await Promise.all(Array.from({ length: 10 }, (_, i) => rig.appender.append(draftOn('sensors/a/t', String(i), clock.now))));
    for (let i = 0; i < 5; i++) {
      clock.now += 1;
      await rig.appender.append(draftOn('sensors/b/t', String(i), clock.now));
    }
    assert.equal(rig.appender.seq, 15);
    assert.deepEqual(seqsOf(rig.seen.appended), range(1, 15), 'the bus sees the events in log order');
    await rig.close();

    clock.now += MIN;
    rig = await openRig(dir, clock);
    await rig.appender.append(draftOn('sensors/a/t', '99', clock.now));
    const events = await readAll(rig.store);
    assert.deepEqual(seqsOf(events), range(1, 16));
    assert.equal(await rig.store.lastSeq(), 16);
    assert.equal(await rig.store.firstSeq(), 1);
    assert.equal(new Set(idsOf(events)).size, 16, 'gateway-made ids are unique');
    assert.ok(events.every((e) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(e.id)), 'events without id or seq get ULIDs');
    assert.deepEqual(events.slice(0, 10).map((e) => e.payload.value), range(0, 9), 'a burst keeps its submission order');
    await rig.close();
  });

  test('a stored event has the SPEC §3 shape', async (t) => {
    const dir = tempDirFor(t);
    const rig = await openRig(dir, { now: T0 });
    await rig.appender.append(draftOn('sensors/greenhouse-1/temperature', { value: 21.5, unit: 'C', seq: 1043, ts: T0 - 1_000 }, T0));
    const [event] = await readAll(rig.store);
    assert.deepEqual(event, {
      id: 'greenhouse-1:0:1043',
      type: 'DeviceData',
      source: 'greenhouse-1',
      timestamp: iso(T0 - 1_000),
      seq: 1,
      version: 1,
      payload: { value: 21.5, unit: 'C' },
      sensor: { type: 'temperature', value: 21.5, unit: 'C', accuracy: null, timestamp: iso(T0 - 1_000) },
      device: { id: 'greenhouse-1' },
      metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null, clock: 'synced' },
    });
    await rig.close();
  });
});

describe('reading the log', () => {
  const { dir, cleanup } = tempDir();
  let rig: StoreRig;
  let all: EdgeEvent[];

  before(async () => {
    rig = await openRig(dir, { now: T0 + 10 * MIN });
    const at = (m: number) => T0 + m * MIN;
    await Promise.all([
      rig.appender.append(draftOn('sensors/a/t', { value: 1, ts: at(0) }, at(10))),
      rig.appender.append(draftOn('sensors/b/t', { value: 2, ts: at(1) }, at(10))),
      rig.appender.append(draftOn('devices/a/status', 'online', at(2))),
      rig.appender.append(draftOn('sensors/a/t', { value: 4, ts: at(3) }, at(10))),
      rig.appender.append(draftOn('sensors/b/t', { value: 5, ts: at(4), id: 'b-reading-5' }, at(10))),
      rig.appender.append(draftOn('sensors/a/t', { value: 6, ts: at(5) }, at(10))),
    ]);
    all = await readAll(rig.store);
  });
  after(async () => {
    await rig.close();
    cleanup();
  });

  test('everything, in log order', () => {
    assert.deepEqual(seqsOf(all), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(all.map((e) => e.source), ['a', 'b', 'a', 'a', 'b', 'a']);
  });

  test('by seq range', async () => {
    assert.deepEqual(seqsOf(await readAll(rig.store, { fromSeq: 2, toSeq: 4 })), [2, 3, 4]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { fromSeq: 5 })), [5, 6]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { fromSeq: 7 })), []);
  });

  test('by source, from a stream version', async () => {
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'a' })), [1, 3, 4, 6]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'a', fromVersion: 2 })), [3, 4, 6]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'a', fromVersion: 4 })), [6]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'b', fromSeq: 3 })), [5]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'nobody' })), []);
  });

  test('since and until a timestamp (event time)', async () => {
    assert.deepEqual(seqsOf(await readAll(rig.store, { since: T0 + 3 * MIN })), [4, 5, 6]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { until: T0 + MIN })), [1, 2]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { since: T0 + MIN, until: T0 + 3 * MIN })), [2, 3, 4]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { since: T0 + 6 * MIN })), []);
  });

  test('from an event id, inclusive', async () => {
    assert.deepEqual(seqsOf(await readAll(rig.store, { fromId: 'b-reading-5' })), [5, 6]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { fromId: all[2].id })), [3, 4, 5, 6]);
  });

  test('an unknown event id is an UnknownEventIdError', async () => {
    await assert.rejects(readAll(rig.store, { fromId: 'no-such-id' }), (err: Error) => err instanceof UnknownEventIdError && err.message.includes('"no-such-id"'));
  });

  test('type filter and limit', async () => {
    assert.deepEqual(seqsOf(await readAll(rig.store, { type: 'DeviceStatus' })), [3]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { type: 'DeviceData', limit: 3 })), [1, 2, 4]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { limit: 2 })), [1, 2]);
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'a', type: 'DeviceData', limit: 2 })), [1, 4]);
    assert.deepEqual(await readAll(rig.store, { limit: 0 }), []);
  });
});

test('since reads stay complete after a restart with the clock behind (a Pi without RTC)', async (t) => {
  const dir = tempDirFor(t);
  const clock = { now: T0 };
  let rig = await openRig(dir, clock);
  await Promise.all([1, 2, 3].map((v) => rig.appender.append(draftOn('sensors/a/t', String(v), clock.now))));
  await rig.close();
  clock.now = T0 - 60 * MIN; // booted with a stale clock, before NTP
  rig = await openRig(dir, clock);
  await rig.appender.append(draftOn('sensors/a/t', '4', clock.now));
  assert.deepEqual(seqsOf(await readAll(rig.store, { since: T0 - 30 * MIN })), [1, 2, 3]);
  await rig.close();
});

describe('store schema version', () => {
  test('a new store records its schema version', async (t) => {
    const dir = tempDirFor(t);
    const store = await EventStore.open(storeDir(dir));
    assert.equal(await store.meta.get('schemaVersion'), String(STORE_SCHEMA_VERSION));
    await store.close();
  });

  test('a store written by a newer edgebus is refused, and left closed', async (t) => {
    const dir = tempDirFor(t);
    const store = await EventStore.open(storeDir(dir));
    await store.meta.put('schemaVersion', '99');
    await store.close();
    const refused = (err: Error) => err instanceof StoreVersionError && err.message.includes('99');
    await assert.rejects(EventStore.open(storeDir(dir)), refused);
    // A second attempt is refused for the same reason, not because the first kept the lock.
    await assert.rejects(EventStore.open(storeDir(dir)), refused);
  });
});

describe('write batches', () => {
  test('a batch written while the store is closed is refused, not a crash; after a reopen it writes', async (t) => {
    const dir = tempDirFor(t);
    const store = await EventStore.open(storeDir(dir));
    const batch = store.newWriteBatch();
    await store.db.close();
    batch.put(store.log.prefix + '1', 'x');
    await assert.rejects(batch.write(true), { code: 'LEVEL_DATABASE_NOT_OPEN' });
    assert.equal(batch.length, 0, 'the refused batch is emptied like a failed one');
    await store.reopen();
    batch.put(store.meta.prefix + 'probe', 'ok');
    await batch.write(true);
    assert.equal(await store.meta.get('probe'), 'ok');
    await store.close();
  });
});

describe('rejected store', () => {
  test('rejected payloads are kept with topic, reason and base64 raw bytes', async (t) => {
    const dir = tempDirFor(t);
    const rig = await openRig(dir, { now: T0 });
    const inputs: [string, Buffer][] = [
      ['sensors/a/t', Buffer.from([0x7b, 0xff, 0xfe])],
      ['sensors/b/t', Buffer.from('..{"value": 1,').subarray(2)],
      ['devices/c/status', Buffer.from('rebooting')],
    ];
    const submitted = inputs.map(([topic, bytes], i) => {
      const n = normalizeOn(topic, bytes, T0 + i);
      assert.ok(!n.ok, `${topic} should be rejected`);
      return makeRejected(topic, bytes, n.rejection, `client-${i}`, T0 + i);
    });
    await Promise.all(submitted.map((record) => new Promise<void>((res, rej) =>
      rig.appender.submit({ kind: 'rejected', record }, (err) => (err ? rej(err) : res())))));
    await rig.appender.append(draftOn('sensors/a/t', '1', T0));

    const listed = await listRejected(rig.store);
    assert.deepEqual(listed.map((r) => r.topic), inputs.map(([t]) => t));
    assert.deepEqual(listed.map((r) => r.reason), ['invalid-utf8', 'malformed-json', 'invalid-status']);
    assert.deepEqual(listed.map((r) => Buffer.from(r.payload, 'base64')), inputs.map(([, b]) => b), 'exactly the raw bytes');
    assert.equal(listed[1].payload, Buffer.from('{"value": 1,').toString('base64'));
    assert.deepEqual(listed[0], { ...submitted[0], time: iso(T0), clientId: 'client-0' });
    assert.deepEqual(rig.seen.rejected.map((r) => r.id), submitted.map((r) => r.id), 'each rejection is announced after its commit');

    assert.deepEqual((await listRejected(rig.store, { reason: 'malformed-json' })).map((r) => r.topic), ['sensors/b/t']);
    assert.equal((await listRejected(rig.store, { limit: 2 })).length, 2);
    assert.deepEqual(Object.fromEntries(await countRejected(rig.store)), { 'invalid-utf8': 1, 'malformed-json': 1, 'invalid-status': 1 });
    assert.equal(await countRejectedEntries(rig.store), 3, 'the count the start reads, keys only');
    assert.equal(await rig.store.lastSeq(), 1, 'rejections take no log seq');
    await rig.close();
  });
});

