import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RedeliveryMemory, type RedeliveryOptions, type Remembered } from '../../src/ingest/redelivery.js';

const WINDOW = 60_000;
const TOPIC = 'sensors/tas-1/SENSOR';
const bytes = (s: string): Buffer => Buffer.from(s);
const READING = bytes('{"Time":"2026-11-26T01:02:03","DS18B20":{"Temperature":21.5}}');

/** A memory on a settable gateway clock. */
function memory(opts: Omit<RedeliveryOptions, 'now'> = {}) {
  const clock = { now: 1_000_000 };
  return { clock, mem: new RedeliveryMemory({ windowMs: WINDOW, ...opts, now: () => clock.now }) };
}

describe('RedeliveryMemory', () => {
  test('a resend from the same client with the same packet id, topic and bytes matches, giving the source', () => {
    const { mem } = memory();
    mem.remember('tas-1', 7, TOPIC, READING, 'tas-1');
    assert.equal(mem.match('tas-1', 7, TOPIC, Buffer.from(READING)), 'tas-1');
    assert.equal(mem.match('tas-2', 7, TOPIC, READING), null, 'another client');
    assert.equal(mem.match('tas-1', 8, TOPIC, READING), null, 'another packet id');
  });

  test('the same packet id with other bytes or another topic is a new message', () => {
    const { mem } = memory();
    mem.remember('tas-1', 7, TOPIC, bytes('{"value":21.5}'), 'tas-1');
    assert.equal(mem.match('tas-1', 7, TOPIC, bytes('{"value":21.6}')), null, 'same length, one byte differs');
    assert.equal(mem.match('tas-1', 7, TOPIC, bytes('{"value":21.55}')), null, 'longer');
    assert.equal(mem.match('tas-1', 7, 'sensors/tas-1/other', bytes('{"value":21.5}')), null, 'other topic');
    assert.equal(mem.match('tas-1', 7, TOPIC, bytes('{"value":21.5}')), 'tas-1', 'the original still matches');
  });

  test('an entry expires after the window on the gateway clock; a match renews it', () => {
    const { clock, mem } = memory();
    mem.remember('tas-1', 1, TOPIC, READING, 'tas-1');
    mem.remember('tas-1', 2, TOPIC, READING, 'tas-1');
    clock.now += WINDOW;
    assert.equal(mem.match('tas-1', 1, TOPIC, READING), 'tas-1', 'at the edge of the window');
    clock.now += 1;
    assert.equal(mem.match('tas-1', 2, TOPIC, READING), null, 'one ms past it');
    clock.now += WINDOW - 1;
    assert.equal(mem.match('tas-1', 1, TOPIC, READING), 'tas-1', 'renewed by the match a window ago');
  });

  test('a new publish reusing a packet id replaces what the id stood for', () => {
    const { mem } = memory();
    mem.remember('tas-1', 7, TOPIC, bytes('21.5'), 'tas-1');
    mem.remember('tas-1', 7, TOPIC, bytes('21.7'), 'tas-1');
    assert.equal(mem.match('tas-1', 7, TOPIC, bytes('21.5')), null);
    assert.equal(mem.match('tas-1', 7, TOPIC, bytes('21.7')), 'tas-1');
    assert.equal(mem.size, 1);
  });

  test('forget drops an entry whose write failed, not a newer publish under the same packet id', () => {
    const { mem } = memory();
    const failed = mem.remember('tas-1', 7, TOPIC, bytes('21.5'), 'tas-1');
    mem.forget(failed);
    assert.equal(mem.match('tas-1', 7, TOPIC, bytes('21.5')), null);
    const first = mem.remember('tas-1', 9, TOPIC, bytes('1'), 'tas-1');
    mem.remember('tas-1', 9, TOPIC, bytes('2'), 'tas-1');
    mem.forget(first);
    assert.equal(mem.match('tas-1', 9, TOPIC, bytes('2')), 'tas-1');
  });

  test('clients whose entries have all expired are dropped whole when anyone publishes', () => {
    const { clock, mem } = memory();
    for (let i = 1; i <= 50; i++) mem.remember(`quiet-${i % 5}`, i, TOPIC, READING, 'quiet');
    assert.equal(mem.size, 50);
    clock.now += WINDOW + 1;
    mem.remember('busy', 1, TOPIC, READING, 'busy');
    assert.equal(mem.size, 1);
  });

  test('memory is bounded: a chatty client keeps its latest packets and cannot push out a quiet one', () => {
    const { clock, mem } = memory({ maxEntries: 256, maxPerClient: 64 });
    mem.remember('quiet', 1, TOPIC, READING, 'quiet');
    for (let i = 0; i < 10_000; i++) {
      clock.now += 1;
      mem.remember('chatty', 1 + (i % 65_535), TOPIC, bytes(String(i)), 'chatty');
      assert.ok(mem.size <= 65, `size ${mem.size} after ${i + 1} publishes`);
    }
    assert.equal(mem.match('quiet', 1, TOPIC, READING), 'quiet');
    assert.equal(mem.match('chatty', 1 + (9_999 % 65_535), TOPIC, bytes('9999')), 'chatty', 'the latest is kept');
    assert.equal(mem.match('chatty', 1, TOPIC, bytes('0')), null, 'the oldest went');
  });

  test('with many clients the total cap holds and the oldest entries give way', () => {
    const { clock, mem } = memory({ maxEntries: 100, maxPerClient: 10 });
    for (let c = 0; c < 1_000; c++) {
      clock.now += 1;
      mem.remember(`dev-${c}`, 1, TOPIC, READING, `dev-${c}`);
      assert.ok(mem.size <= 100);
    }
    assert.equal(mem.match('dev-999', 1, TOPIC, READING), 'dev-999');
    assert.equal(mem.match('dev-0', 1, TOPIC, READING), null);
  });

  test('under any mix of publishes, failures and clock steps it never invents a match and stays bounded', () => {
    const MAX = 40;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('remember' as const), client: fc.integer({ min: 0, max: 6 }), pid: fc.integer({ min: 1, max: 12 }), body: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('match' as const), client: fc.integer({ min: 0, max: 6 }), pid: fc.integer({ min: 1, max: 12 }), body: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('forgetLast' as const) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: WINDOW / 2 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const { clock, mem } = memory({ maxEntries: MAX, maxPerClient: 8 });
      // The truth, unbounded: what each (client, packet id) last stood for, and since when.
      const truth = new Map<string, { body: number; at: number; handle: Remembered }>();
      let last: { handle: Remembered; key: string } | null = null;
      for (const o of ops) {
        if (o.kind === 'tick') clock.now += o.ms;
        else if (o.kind === 'remember') {
          const key = `${o.client}/${o.pid}`;
          const handle = mem.remember(`c${o.client}`, o.pid, TOPIC, bytes(`body-${o.body}`), `c${o.client}`);
          truth.set(key, { body: o.body, at: clock.now, handle });
          last = { handle, key };
        } else if (o.kind === 'forgetLast') {
          if (last && truth.get(last.key)?.handle === last.handle) truth.delete(last.key);
          if (last) mem.forget(last.handle);
          last = null;
        } else {
          const key = `${o.client}/${o.pid}`;
          const got = mem.match(`c${o.client}`, o.pid, TOPIC, bytes(`body-${o.body}`));
          const t = truth.get(key);
          if (got !== null) {
            assert.ok(t !== undefined && t.body === o.body && clock.now - t.at <= WINDOW, `invented match for ${key} body ${o.body}`);
            assert.equal(got, `c${o.client}`);
            t.at = clock.now;
          }
        }
        assert.ok(mem.size <= MAX);
      }
    }), { numRuns: 300 });
  });
});
