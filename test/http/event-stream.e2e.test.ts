// `GET /api/events?follow=1` (README, HTTP): the log as server-sent events, through a real
// daemon, real MQTT publishers and the real store. A follower gets every event once it is
// durable, in seq order, with the filters applied; a reconnect with Last-Event-ID resumes with
// nothing lost or repeated; a client that stops reading holds its stream back instead of
// filling the daemon's memory; the daemon's stop ends the streams cleanly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents } from '../helpers/api.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { follow, refusal } from '../helpers/sse.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** What a paused stream may hold in the daemon: the socket's high-water mark (16 kB on Node 20, 64 kB on 22) and one frame past it. */
const HELD_BYTES_BOUND = 128 * 1024;

const values = (events: readonly EdgeEvent[]) => events.map((e) => (e.payload as { value: number }).value);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('GET /api/events?follow=1', () => {
  const tmp = tempDir();
  let d: RunningDaemon;
  const clients: MqttClient[] = [];
  const client = async (clientId: string) => {
    const c = await connect(d.brokerUrl, { clientId });
    clients.push(c);
    return c;
  };
  /** The streams the daemon serves, once the ones a test closed are gone. */
  const streamsDown = () => waitFor(() => d.daemon.eventStreams.length === 0, { message: 'the closed streams to end in the daemon' });

  before(async () => {
    d = await startDaemon(tmp.dir);
  });
  after(async () => {
    await endAll(clients);
    await d.stop();
    tmp.cleanup();
  });

  test('a follower gets the stored events, then each new one once durable, in seq order, filters applied', async () => {
    const a = await client('follow-a');
    const b = await client('follow-b');
    for (const seq of [1, 2, 3]) await publish(a, 'sensors/fa/temperature', { seq, value: seq });
    await publish(b, 'sensors/fb/temperature', { value: 100 });
    // 'appended' is emitted once a group is durable: the highest seq a stream may have sent.
    let durable = (await getEvents(d.httpUrl)).at(-1)!.seq;
    d.daemon.bus.on('follow-test', 'appended', (events) => (durable = events[events.length - 1].seq));

    const all = await follow(d.httpUrl);
    const filtered = await follow(d.httpUrl, { source: 'fa', type: 'DeviceData' });
    const early: number[] = [];
    const checks: Promise<void>[] = [];
    all.onEvent = (e) => {
      if (e.seq > durable) early.push(e.seq);
    };
    filtered.onEvent = (e) => {
      if (e.seq > durable) early.push(e.seq);
      // What the stream sent, a plain read of the log returns the same.
      checks.push(getEvents(d.httpUrl, { fromSeq: e.seq, limit: 1 }).then((got) => assert.deepEqual(got, [e])));
    };
    await Promise.all([
      (async () => {
        for (let seq = 4; seq <= 60; seq++) await publish(a, 'sensors/fa/temperature', { seq, value: seq });
      })(),
      (async () => {
        for (let i = 0; i < 30; i++) {
          await publish(b, 'sensors/fb/temperature', { value: i });
          await publish(b, 'devices/fa/status', i % 2 ? 'online' : 'offline');
        }
      })(),
    ]);
    const stored = await getEvents(d.httpUrl);
    const wanted = await getEvents(d.httpUrl, { source: 'fa', type: 'DeviceData' });
    assert.deepEqual(values(wanted), range(1, 60));
    await waitFor(() => all.events.length >= stored.length && filtered.events.length >= wanted.length, { message: 'both followers to catch up' });
    d.daemon.bus.removeOwner('follow-test');
    assert.deepEqual(all.events.slice(0, stored.length), stored);
    assert.deepEqual(all.ids.slice(0, stored.length), stored.map((e) => e.seq));
    assert.deepEqual(filtered.events, wanted);
    assert.deepEqual(early, [], 'events sent before their commit was durable');
    await Promise.all(checks);
    all.close();
    filtered.close();
    await streamsDown();
  });

  test('a reconnect with Last-Event-ID loses and repeats nothing while publishing goes on', async () => {
    const p = await client('follow-reconnect');
    const publishRange = async (from: number, to: number) => {
      for (let seq = from; seq <= to; seq++) await publish(p, 'sensors/rc/temperature', { seq, value: seq });
    };
    const first = await follow(d.httpUrl, { source: 'rc' });
    const phase1 = publishRange(1, 100);
    await waitFor(() => first.events.length >= 30, { message: '30 events on the first connection' });
    first.close();
    const before = [...first.events];
    const lastId = first.ids[first.ids.length - 1];
    await phase1;
    // Published while no one follows: the reconnect must bring them.
    await publishRange(101, 150);
    const second = await follow(d.httpUrl, { source: 'rc' }, { 'last-event-id': String(lastId) });
    await publishRange(151, 300);
    await waitFor(() => second.events.at(-1)?.id === 'rc:0:300', { message: 'the last event on the second connection' });
    const got = [...before, ...second.events];
    assert.deepEqual(values(got), range(1, 300));
    assert.ok(got.every((e, i) => i === 0 || e.seq > got[i - 1].seq), 'in seq order');
    assert.ok(second.events[0].seq > lastId);
    // fromSeq after the last id resumes the same way (a client without the header).
    const third = await follow(d.httpUrl, { source: 'rc', fromSeq: lastId + 1 });
    await waitFor(() => third.events.length === second.events.length, { message: 'the third connection to catch up' });
    assert.deepEqual(third.events, second.events);
    second.close();
    third.close();
    await streamsDown();
  });

  test('a follower that stops reading holds its stream back, not the daemon\'s memory', async () => {
    const p = await client('follow-slow');
    const slow = await follow(d.httpUrl, { source: 'bp' });
    slow.pause();
    const note = 'x'.repeat(4_000);
    let n = 0;
    const stream = () => {
      const states = d.daemon.eventStreams;
      assert.equal(states.length, 1);
      return states[0];
    };
    // However much the kernel's socket buffers take, the stream stops once they are full.
    await waitFor(async () => {
      for (let i = 0; i < 50; i++) await publish(p, 'sensors/bp/blob', { seq: ++n, value: n, note });
      return stream().waitingForClient;
    }, { timeout: 60_000, interval: 1, message: 'the stream to wait for its client' });
    const held = stream();
    assert.ok(held.sentSeq > 0 && held.bufferedBytes <= HELD_BYTES_BOUND, JSON.stringify(held));
    const blocked = n;
    // Another 2 MB of events while the client still reads nothing.
    for (let i = 0; i < 500; i++) await publish(p, 'sensors/bp/blob', { seq: ++n, value: n, note });
    const later = stream();
    assert.equal(later.waitingForClient, true);
    assert.equal(later.sentSeq, held.sentSeq, 'nothing written while the client reads nothing');
    assert.ok(later.bufferedBytes <= HELD_BYTES_BOUND, `${later.bufferedBytes} bytes held for a client that reads nothing`);
    assert.ok(n - blocked >= 500);

    slow.resume();
    await waitFor(() => slow.events.length === n, { timeout: 30_000, message: `all ${n} events once the client reads` });
    assert.deepEqual(values(slow.events), range(1, n));
    slow.close();
    await streamsDown();
  });

  test('requests it cannot follow are answered 400 with the reason', async () => {
    const limited = await refusal(d.httpUrl, { limit: 5 });
    assert.equal(limited.status, 400);
    assert.match(limited.body, /limit/);
    const badId = await refusal(d.httpUrl, {}, { 'last-event-id': 'yesterday' });
    assert.equal(badId.status, 400);
    assert.match(badId.body, /Last-Event-ID: expected the seq of the last event received, got \\"yesterday\\"/);
    const unknown = await refusal(d.httpUrl, { fromId: 'no-such-event' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /no stored event has id/);
    const res = await fetch(`${d.httpUrl}/api/events?follow=yes`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /follow: expected 1 or true/);
  });
});

describe('the daemon\'s stop and its live streams', () => {
  test('ends every stream cleanly', async (t) => {
    const own = await startDaemon(tempDirFor(t));
    const p = await connect(own.brokerUrl, { clientId: 'follow-stop' });
    t.after(() => endAll([p]));
    await publish(p, 'sensors/st/temperature', '1');
    const everything = await follow(own.httpUrl);
    const some = await follow(own.httpUrl, { source: 'st' });
    await waitFor(() => some.events.length === 1 && everything.events.length >= 1, { message: 'the stored event on both streams' });
    assert.equal(own.daemon.eventStreams.length, 2);
    await own.stop();
    // 'end': the chunked stream was terminated, not the connection cut.
    assert.deepEqual(await Promise.all([everything.closed, some.closed]), ['end', 'end']);
    assert.equal(own.daemon.eventStreams.length, 0);
  });
});
