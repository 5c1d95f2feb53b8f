// The traffic summary of `status` and the dashboard (src/http/summary.ts) fed through a real
// EventBus as the appender, the upstream and the store feed it: events by type and errors
// over the last minute and since the start, the latencies, and reading → alert matched by
// the alert's causation id. Clocks are injected: the figures are exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgeEvent, EventType } from '../../src/events/types.js';
import { MinuteCounter } from '../../src/http/minute-counter.js';
import { ReadingAlertLatency } from '../../src/http/reading-alert.js';
import { Summary } from '../../src/http/summary.js';
import { EventBus, type CommitStats } from '../../src/pipeline/bus.js';
import type { RejectedRecord } from '../../src/store/rejected.js';

let seq = 0;

function event(type: EventType, extra: Partial<EdgeEvent> = {}): EdgeEvent {
  seq++;
  return {
    id: `e-${seq}`, type, source: 'gh-1', timestamp: '2026-11-26T10:00:00.000Z', seq, payload: {},
    metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null },
    ...extra,
  };
}

function reading(value: number): EdgeEvent {
  return event('DeviceData', {
    device: { id: 'gh-1' },
    sensor: { type: 'temperature', value, unit: 'C', accuracy: null, timestamp: '2026-11-26T10:00:00.000Z' },
  });
}

function alertOf(cause: EdgeEvent | null): EdgeEvent {
  const e = event('Alert');
  e.metadata = { ...e.metadata, causationId: cause?.id ?? null, correlationId: cause?.id ?? null };
  return e;
}

/** Within a histogram bucket (20%) of `want`. */
function near(got: number | null, want: number, what: string): void {
  assert.ok(got !== null && Math.abs(got - want) <= want * 0.2, `${what}: ${got} is not within 20% of ${want}`);
}

const commit = (submissions: number, ackSeconds: number): CommitStats =>
  ({ events: submissions, duplicates: 0, rejected: 0, staged: 0, submissions, writeSeconds: 0, ackSeconds });

const rejected: RejectedRecord = {
  id: 'bad-1', time: '2026-11-26T10:00:00.000Z', topic: 'sensors/gh-1/temperature', payload: 'ew==',
  reason: 'malformed-json', detail: 'Unexpected end of JSON input', clientId: 'gh-1',
};

describe('MinuteCounter', () => {
  it('counts the last minute from per-second slots and everything since the start', () => {
    const clock = { now: 5_000_000 };
    const c = new MinuteCounter(() => clock.now);
    c.add(3);
    clock.now += 59_000;
    c.add();
    assert.deepEqual([c.inWindow(), c.total], [4, 4]);
    clock.now += 1_000;
    assert.deepEqual([c.inWindow(), c.total], [1, 4], 'the first second has left the window');
    clock.now += 120_000;
    c.add(2);
    assert.deepEqual([c.inWindow(), c.total], [2, 6], 'a slot reused after two minutes starts from zero');
  });
});

describe('ReadingAlertLatency', () => {
  it('measures from the commit of the reading that caused an alert to the commit of the alert', () => {
    const seen: number[] = [];
    const r = new ReadingAlertLatency((s) => seen.push(s));
    const hot = reading(35);
    const older = reading(36);
    r.addEvents([older], 1_000);
    r.addEvents([reading(20), hot], 2_000);
    r.addEvents([alertOf(hot), alertOf(null)], 2_012);
    assert.deepEqual(seen, [0.012], 'an alert without a cause is not measured');
    // The cause two groups back (the alert waited behind a write) is found; three back is not.
    r.addEvents([alertOf(hot)], 2_030);
    assert.deepEqual(seen, [0.012, 0.03]);
    r.addEvents([alertOf(older)], 2_050);
    assert.deepEqual(seen, [0.012, 0.03], 'a cause three groups back is not a live reading → alert');
    // A chained alert (caused by an alert) is not a reading's latency.
    const first = alertOf(hot);
    r.addEvents([first], 3_000);
    r.addEvents([alertOf(first)], 3_010);
    assert.deepEqual(seen, [0.012, 0.03]);
  });
});

describe('Summary', () => {
  it('reports events by type, errors, latencies and sensors as the bus tells them', () => {
    const clock = { now: 9_000_000 };
    const mono = { now: 100 };
    const bus = new EventBus();
    const summary = new Summary({ bus, now: () => clock.now, monotonic: () => mono.now }, 'summary');

    const empty = summary.snapshot();
    assert.deepEqual(empty.events.byType.DeviceData, { lastMinute: 0, total: 0 });
    assert.deepEqual(Object.keys(empty.events.byType), ['DeviceData', 'DeviceStatus', 'Alert', 'Command', 'SystemEvent', 'BusinessEvent']);
    assert.deepEqual(empty.latency.ack, { lastMinute: { count: 0, p50Ms: null, p99Ms: null }, sinceStart: { count: 0, p50Ms: null, p99Ms: null } });
    assert.deepEqual(empty.sensors, { limit: 256, evicted: 0, rows: [] });

    const hot = reading(35);
    bus.emit('committed', commit(4, 0.002));
    bus.emit('appended', [reading(30), event('DeviceStatus'), reading(33), hot]);
    mono.now += 7;
    bus.emit('committed', commit(1, 0.004));
    bus.emit('appended', [alertOf(hot)]);
    bus.emit('rejected', rejected);
    bus.emit('storeError', new Error('disk full'));
    bus.emit('batchAcknowledged', { events: 5, seconds: 0.05 });

    let s = summary.snapshot();
    assert.deepEqual(s.events.byType.DeviceData, { lastMinute: 3, total: 3 });
    assert.deepEqual(s.events.byType.DeviceStatus, { lastMinute: 1, total: 1 });
    assert.deepEqual(s.events.byType.Alert, { lastMinute: 1, total: 1 });
    assert.deepEqual(s.events.byType.Command, { lastMinute: 0, total: 0 });
    assert.deepEqual(s.errors, { perMinute: 2, rejected: { lastMinute: 1, total: 1 }, storeErrors: { lastMinute: 1, total: 1 } });
    assert.equal(s.latency.ack.lastMinute.count, 5, 'each publish counts, with its group\'s wait');
    near(s.latency.ack.lastMinute.p50Ms, 2, 'ack p50');
    near(s.latency.ack.lastMinute.p99Ms, 4, 'ack p99');
    assert.deepEqual(s.latency.readingToAlert.lastMinute, { count: 1, p50Ms: 7, p99Ms: 7 });
    assert.deepEqual(s.latency.forward.sinceStart, { count: 1, p50Ms: 50, p99Ms: 50 });
    assert.deepEqual(s.sensors.rows.map((r) => [r.device, r.sensor, r.value, r.unit, r.spark]), [['gh-1', 'temperature', 35, 'C', [30, 33, 35]]]);

    // Two minutes on: the last minute is empty, the totals stay.
    clock.now += 120_000;
    s = summary.snapshot();
    assert.deepEqual(s.events.byType.DeviceData, { lastMinute: 0, total: 3 });
    assert.deepEqual(s.errors, { perMinute: 0, rejected: { lastMinute: 0, total: 1 }, storeErrors: { lastMinute: 0, total: 1 } });
    assert.equal(s.latency.ack.lastMinute.count, 0);
    assert.equal(s.latency.ack.sinceStart.count, 5);
  });
});
