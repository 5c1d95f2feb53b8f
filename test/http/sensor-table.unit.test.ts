// The sensor table of `status` and the dashboard (src/http/sensor-table.ts): one row per
// device and sensor with its last reading and recent values, bounded in sensors (the least
// recently seen makes room) and in values per sensor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { SensorTable, SPARK_POINTS } from '../../src/http/sensor-table.js';
import { draftOn } from '../helpers/drafts.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
let seq = 0;

/** A reading as the log holds it, from a publish on `topic`. */
function reading(topic: string, payload: object | string, at = T0): EdgeEvent {
  const d = draftOn(topic, payload, at);
  seq++;
  return { ...d, id: d.id ?? `r-${seq}`, seq } as EdgeEvent;
}

describe('SensorTable', () => {
  it('keeps each device and sensor\'s last value, unit, time and recent values, sorted', () => {
    const t = new SensorTable();
    t.addEvents([
      reading('sensors/gh-2/humidity', { value: 40, unit: '%', ts: T0 }),
      reading('sensors/gh-1/temperature', { value: 21.5, unit: 'C', ts: T0 }),
      reading('sensors/gh-1/temperature', { value: 22, unit: 'C', ts: T0 + 1000 }),
      reading('devices/gh-1/status', 'online'),
      reading('sensors/gh-1/door', { value: 'open', ts: T0 + 2000 }),
    ]);
    t.addEvents([reading('sensors/gh-1/door', { value: true, ts: T0 + 3000 })]);
    const s = t.snapshot();
    assert.equal(s.evicted, 0);
    assert.deepEqual(s.rows, [
      { device: 'gh-1', sensor: 'door', value: true, unit: null, time: new Date(T0 + 3000).toISOString(), readings: 2, spark: [null, null] },
      { device: 'gh-1', sensor: 'temperature', value: 22, unit: 'C', time: new Date(T0 + 1000).toISOString(), readings: 2, spark: [21.5, 22] },
      { device: 'gh-2', sensor: 'humidity', value: 40, unit: '%', time: new Date(T0).toISOString(), readings: 1, spark: [40] },
    ]);
  });

  it(`keeps the last ${SPARK_POINTS} values of a sensor, oldest first`, () => {
    const t = new SensorTable();
    for (let v = 1; v <= SPARK_POINTS + 7; v++) t.addEvents([reading('sensors/m-1/level', String(v))]);
    const [row] = t.snapshot().rows;
    assert.equal(row.readings, SPARK_POINTS + 7);
    assert.deepEqual(row.spark, Array.from({ length: SPARK_POINTS }, (_, i) => i + 8));
    assert.equal(row.value, SPARK_POINTS + 7);
  });

  it('drops the sensor seen least recently when a new one arrives on a full table', () => {
    const t = new SensorTable(3);
    t.addEvents([reading('sensors/a/x', '1'), reading('sensors/b/x', '2'), reading('sensors/c/x', '3')]);
    // a is seen again: b is now the one seen least recently.
    t.addEvents([reading('sensors/a/x', '4')]);
    t.addEvents([reading('sensors/d/x', '5')]);
    let s = t.snapshot();
    assert.deepEqual(s.rows.map((r) => r.device), ['a', 'c', 'd']);
    assert.equal(s.evicted, 1);
    assert.equal(s.limit, 3);
    // A second sensor of a known device counts against the bound too.
    t.addEvents([reading('sensors/a/y', '6')]);
    s = t.snapshot();
    assert.deepEqual(s.rows.map((r) => `${r.device}/${r.sensor}`), ['a/x', 'a/y', 'd/x']);
    assert.equal(s.evicted, 2);
    // b comes back, with a fresh count, in place of a/x (last seen before d/x and a/y).
    t.addEvents([reading('sensors/b/x', '7')]);
    s = t.snapshot();
    assert.deepEqual(s.rows.map((r) => `${r.device}/${r.sensor}:${r.readings}`), ['a/y:1', 'b/x:1', 'd/x:1']);
    assert.equal(s.evicted, 3);
  });

  it('a full table makes room an eighth at a time, the least recently seen first', () => {
    const t = new SensorTable(16);
    for (let i = 0; i < 16; i++) t.addEvents([reading(`sensors/d-${i}/x`, String(i))]);
    t.addEvents([reading('sensors/d-0/x', '99')]);
    t.addEvents([reading('sensors/new-1/x', '1')]);
    let s = t.snapshot();
    assert.equal(s.evicted, 2);
    assert.deepEqual(s.rows.map((r) => r.device).filter((d) => d === 'd-1' || d === 'd-2'), [], 'the two seen least recently');
    assert.ok(s.rows.some((r) => r.device === 'd-0'), 'seen again: kept');
    assert.equal(s.rows.length, 15);
    // The room made serves the next new sensor without dropping another.
    t.addEvents([reading('sensors/new-2/x', '2')]);
    s = t.snapshot();
    assert.equal(s.evicted, 2);
    assert.equal(s.rows.length, 16);
  });

  it('shows a long text value cut short', () => {
    const t = new SensorTable();
    t.addEvents([reading('sensors/m-1/note', { value: 'x'.repeat(5_000) })]);
    const [row] = t.snapshot().rows;
    assert.equal(row.value, `${'x'.repeat(64)}…`);
  });
});
