import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMetadata, type EdgeEvent } from '../../src/events/types.js';
import { createWindow, WINDOW_CAP, WINDOW_IDS } from '../../src/rules/windows.js';
import type { WindowState } from '../../src/rules/types.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const SEC = 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** An event named `id` at T0 + `atMs`; its time is passed to add() separately, as the engine does. */
function ev(id: string, atMs: number): EdgeEvent {
  return {
    id,
    type: 'DeviceData',
    source: 'gh-1',
    timestamp: iso(T0 + atMs),
    seq: 0,
    payload: { value: 0 },
    metadata: defaultMetadata(),
  };
}

/** Adds events given as [id, offset ms] and returns the window's ids. */
function feed(w: WindowState, ...items: [string, number][]): string[] {
  for (const [id, at] of items) w.add(ev(id, at), T0 + at);
  return ids(w);
}

const ids = (w: WindowState) => w.ids();

describe('sliding', () => {
  test('keeps events with time > latest − ms', () => {
    const w = createWindow({ kind: 'sliding', ms: 10 * SEC });
    assert.deepEqual(feed(w, ['a', 0], ['b', 5 * SEC]), ['a', 'b']);
    assert.deepEqual(feed(w, ['c', 9999]), ['a', 'b', 'c']);
    assert.deepEqual(feed(w, ['d', 10 * SEC]), ['b', 'c', 'd'], 'a is exactly ms old: out');
    assert.deepEqual(feed(w, ['e', 60 * SEC]), ['e'], 'a jump empties it');
  });

  test('a late event inside the window is inserted in time order', () => {
    const w = createWindow({ kind: 'sliding', ms: 10 * SEC });
    feed(w, ['a', 0], ['c', 4 * SEC], ['d', 8 * SEC]);
    assert.deepEqual(feed(w, ['b', 2 * SEC]), ['a', 'b', 'c', 'd']);
    assert.deepEqual(feed(w, ['a2', 0]), ['a', 'a2', 'b', 'c', 'd'], 'equal times keep arrival order');
  });

  test('a late event already outside the window is dropped', () => {
    const w = createWindow({ kind: 'sliding', ms: 10 * SEC });
    feed(w, ['a', 20 * SEC]);
    assert.deepEqual(feed(w, ['old', 10 * SEC]), ['a'], 'exactly at latest − ms');
    assert.deepEqual(feed(w, ['older', 0]), ['a']);
    assert.deepEqual(feed(w, ['ok', 10 * SEC + 1]), ['ok', 'a']);
  });

  test('a late event does not move latest back', () => {
    const w = createWindow({ kind: 'sliding', ms: 10 * SEC });
    feed(w, ['a', 0], ['b', 9 * SEC]);
    assert.deepEqual(feed(w, ['late', 2 * SEC]), ['a', 'late', 'b']);
    assert.deepEqual(feed(w, ['c', 11 * SEC]), ['late', 'b', 'c'], 'window is now > 1 s');
  });

  test('key is the oldest held event time', () => {
    const w = createWindow({ kind: 'sliding', ms: 10 * SEC });
    assert.equal(w.key(), '');
    feed(w, ['a', 1 * SEC], ['b', 5 * SEC]);
    assert.equal(w.key(), iso(T0 + 1 * SEC));
    feed(w, ['c', 12 * SEC]);
    assert.equal(w.key(), iso(T0 + 5 * SEC));
  });

  test('memory stays bounded over a long in-order stream', () => {
    const w = createWindow({ kind: 'sliding', ms: 100 });
    for (let i = 0; i < 50_000; i++) w.add(ev(String(i), i), T0 + i);
    assert.equal(w.size(), 100);
    assert.equal(ids(w)[0], '49900');
    assert.equal(ids(w)[99], '49999');
  });
});

describe('tumbling', () => {
  test('keeps the current bucket; a newer bucket starts a new window', () => {
    const w = createWindow({ kind: 'tumbling', ms: 60 * SEC });
    assert.equal(w.key(), '');
    assert.deepEqual(feed(w, ['a', 0], ['b', 59_999]), ['a', 'b']);
    assert.equal(w.key(), iso(T0));
    assert.deepEqual(feed(w, ['c', 60 * SEC]), ['c'], 'rollover at the bucket boundary');
    assert.equal(w.key(), iso(T0 + 60 * SEC));
    assert.deepEqual(feed(w, ['d', 400 * SEC]), ['d'], 'empty buckets are skipped');
    assert.equal(w.key(), iso(T0 + 360 * SEC));
  });

  test('buckets align to the epoch, not to the first event', () => {
    const w = createWindow({ kind: 'tumbling', ms: 60 * SEC });
    feed(w, ['a', 30 * SEC]);
    assert.equal(w.key(), iso(T0));
    assert.deepEqual(feed(w, ['b', 61 * SEC]), ['b']);
  });

  test('a late event in the current bucket is inserted in order; one for an older bucket is dropped', () => {
    const w = createWindow({ kind: 'tumbling', ms: 60 * SEC });
    feed(w, ['a', 60 * SEC], ['c', 90 * SEC]);
    assert.deepEqual(feed(w, ['b', 70 * SEC]), ['a', 'b', 'c']);
    assert.deepEqual(feed(w, ['old', 59 * SEC]), ['a', 'b', 'c']);
    assert.equal(w.key(), iso(T0 + 60 * SEC));
  });

  test('times before the epoch floor correctly', () => {
    const w = createWindow({ kind: 'tumbling', ms: 1000 });
    w.add(ev('neg', 0), -1);
    assert.equal(w.key(), iso(-1000));
    w.add(ev('zero', 0), 0);
    assert.equal(w.key(), iso(0));
    assert.deepEqual(ids(w), ['zero']);
  });
});

describe('count', () => {
  test('keeps the last n', () => {
    const w = createWindow({ kind: 'count', n: 3 });
    assert.deepEqual(feed(w, ['a', 0], ['b', 1], ['c', 2]), ['a', 'b', 'c']);
    assert.deepEqual(feed(w, ['d', 3]), ['b', 'c', 'd']);
    assert.deepEqual(feed(w, ['e', 100_000]), ['c', 'd', 'e'], 'time gaps do not matter');
    assert.equal(w.key(), iso(T0 + 2));
  });

  test('late events by time: inserted in order, or dropped when older than all n', () => {
    const w = createWindow({ kind: 'count', n: 3 });
    feed(w, ['a', 10], ['c', 30], ['d', 40]);
    assert.deepEqual(feed(w, ['b', 20]), ['b', 'c', 'd']);
    assert.deepEqual(feed(w, ['z', 0]), ['b', 'c', 'd']);
  });

  test('n = 1', () => {
    const w = createWindow({ kind: 'count', n: 1 });
    assert.deepEqual(feed(w, ['a', 0], ['b', 1]), ['b']);
  });

  test('empty key', () => {
    assert.equal(createWindow({ kind: 'count', n: 2 }).key(), '');
  });
});

describe('session', () => {
  test('gaps ≤ gapMs extend the session; a larger gap starts a new one', () => {
    const w = createWindow({ kind: 'session', gapMs: 5 * SEC });
    assert.equal(w.key(), '');
    assert.deepEqual(feed(w, ['a', 0], ['b', 5 * SEC], ['c', 10 * SEC]), ['a', 'b', 'c'], 'a gap of exactly gapMs continues');
    assert.equal(w.key(), iso(T0));
    assert.deepEqual(feed(w, ['d', 15 * SEC + 1]), ['d']);
    assert.equal(w.key(), iso(T0 + 15 * SEC + 1));
  });

  test('a session can outlast its gap many times over', () => {
    const w = createWindow({ kind: 'session', gapMs: 1000 });
    for (let i = 0; i < 100; i++) w.add(ev(String(i), i * 900), T0 + i * 900);
    assert.equal(w.size(), 100);
    assert.equal(w.key(), iso(T0));
  });

  test('a late event inside the session is inserted in order', () => {
    const w = createWindow({ kind: 'session', gapMs: 5 * SEC });
    feed(w, ['a', 0], ['c', 4 * SEC]);
    assert.deepEqual(feed(w, ['b', 2 * SEC]), ['a', 'b', 'c']);
  });

  test('a late event within gapMs before the start joins and becomes the start', () => {
    const w = createWindow({ kind: 'session', gapMs: 5 * SEC });
    feed(w, ['b', 100 * SEC], ['c', 101 * SEC]);
    assert.deepEqual(feed(w, ['a', 95 * SEC]), ['a', 'b', 'c']);
    assert.equal(w.key(), iso(T0 + 95 * SEC));
  });

  test('a late event from before the session (an earlier, closed session) is dropped', () => {
    const w = createWindow({ kind: 'session', gapMs: 5 * SEC });
    feed(w, ['a', 0], ['b', 100 * SEC]);
    assert.deepEqual(feed(w, ['old', 2 * SEC]), ['b']);
    assert.equal(w.key(), iso(T0 + 100 * SEC));
  });

  test('the gap is measured from the newest event, not the last to arrive', () => {
    const w = createWindow({ kind: 'session', gapMs: 5 * SEC });
    feed(w, ['a', 0], ['c', 5 * SEC], ['b', 1 * SEC]);
    assert.deepEqual(feed(w, ['d', 10 * SEC]), ['a', 'b', 'c', 'd']);
  });
});

describe('the cap', () => {
  test('a flood keeps only the newest WINDOW_CAP events', () => {
    assert.equal(WINDOW_CAP, 10_000);
    const w = createWindow({ kind: 'sliding', ms: 3_600_000 });
    for (let i = 0; i < WINDOW_CAP + 500; i++) w.add(ev(String(i), i), T0 + i);
    assert.equal(w.size(), WINDOW_CAP);
    assert.equal(w.key(), iso(T0 + 500), 'the oldest kept is the 500th');
    assert.equal(ids(w).length, WINDOW_IDS, 'ids of the newest only');
    assert.equal(ids(w).at(-1), String(WINDOW_CAP + 499));
  });

  test('every kind respects an injected cap, dropping the oldest', () => {
    const specs = [
      { kind: 'sliding', ms: 1e9 },
      { kind: 'tumbling', ms: 1e9 },
      { kind: 'count', n: 100 },
      { kind: 'session', gapMs: 1e9 },
    ] as const;
    for (const spec of specs) {
      const w = createWindow(spec, [], 3);
      assert.deepEqual(feed(w, ['a', 0], ['b', 1], ['c', 2], ['d', 3], ['e', 4]), ['c', 'd', 'e'], spec.kind);
    }
  });

  test('a session keeps its start as key when the cap drops its first events', () => {
    const w = createWindow({ kind: 'session', gapMs: 1e9 }, [], 2);
    feed(w, ['a', 0], ['b', 1], ['c', 2]);
    assert.deepEqual(ids(w), ['b', 'c']);
    assert.equal(w.key(), iso(T0));
  });

  test('a late event under the cap goes in by time and the oldest goes out', () => {
    const w = createWindow({ kind: 'sliding', ms: 1e9 }, [], 3);
    feed(w, ['a', 0], ['c', 20], ['d', 30]);
    assert.deepEqual(feed(w, ['b', 10]), ['b', 'c', 'd']);
  });
});

describe('ids()', () => {
  test('a returned list is not changed by later adds', () => {
    const w = createWindow({ kind: 'count', n: 2 });
    feed(w, ['a', 0], ['b', 1]);
    const before = ids(w);
    feed(w, ['c', 2]);
    assert.deepEqual(before, ['a', 'b']);
    assert.deepEqual(ids(w), ['b', 'c']);
  });

  test('only the newest WINDOW_IDS events keep their ids, late ones included', () => {
    const w = createWindow({ kind: 'sliding', ms: 1e9 });
    for (let i = 0; i < 300; i++) w.add(ev(String(i), i * 10), T0 + i * 10);
    const newest = Array.from({ length: WINDOW_IDS }, (_, k) => String(200 + k));
    assert.deepEqual(ids(w), newest);
    w.add(ev('deep-late', 5), T0 + 5);
    assert.equal(w.size(), 301);
    assert.deepEqual(ids(w), newest, 'a late event older than the newest 100 is not named');
    w.add(ev('recent-late', 2985), T0 + 2985);
    assert.deepEqual(ids(w), [...newest.slice(1, 99), 'recent-late', '299'], 'one inside them pushes the oldest named out');
  });

  test('events with a non-finite time are ignored', () => {
    for (const spec of [{ kind: 'sliding', ms: 10 }, { kind: 'tumbling', ms: 10 }, { kind: 'count', n: 2 }, { kind: 'session', gapMs: 10 }] as const) {
      const w = createWindow(spec);
      w.add(ev('nan', 0), Number.NaN);
      assert.deepEqual(ids(w), [], spec.kind);
      assert.equal(w.key(), '', spec.kind);
      assert.deepEqual(feed(w, ['a', 0]), ['a'], spec.kind);
    }
  });
});

describe('invalid specs', () => {
  test('throw RangeError', () => {
    assert.throws(() => createWindow({ kind: 'sliding', ms: 0 }), RangeError);
    assert.throws(() => createWindow({ kind: 'tumbling', ms: -1 }), RangeError);
    assert.throws(() => createWindow({ kind: 'count', n: 1.5 }), RangeError);
    assert.throws(() => createWindow({ kind: 'count', n: 0 }), RangeError);
    assert.throws(() => createWindow({ kind: 'session', gapMs: Number.NaN }), RangeError);
    assert.throws(() => createWindow({ kind: 'count', n: 3 }, [], 0), RangeError);
  });
});
