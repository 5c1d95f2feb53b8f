// The device-state projection on a real store with the real appender: what it folds, that
// a late event does not overwrite a newer one, that it is written with the events it
// reflects, that a rebuild from the log gives the same projection, and that retention
// takes a device out once the log holds none of its events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maintainStore } from '../../src/jobs/store-maintenance.js';
import { readDeviceState, readDeviceStates, rebuildDeviceStates } from '../../src/store/device-state.js';
import { EventStore } from '../../src/store/event-store.js';
import { draftOn } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig, storeDir, type Clock, type StoreRig } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

async function put(rig: StoreRig, clock: Clock, topic: string, payload: string | object): Promise<void> {
  await rig.appender.append(draftOn(topic, payload, clock.now));
}

describe('device-state projection', () => {
  test('per device: last value, unit, time and seq per sensor, status, JSON metadata, location', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    await put(rig, clock, 'devices/gh-1/status', { state: 'booting', firmware: '2.0.1', model: 'TH-20', capabilities: ['temperature'], uptime: 3 });
    await put(rig, clock, 'sensors/gh-1/temperature', { value: 21.5, unit: 'C', ts: iso(T0 + 1_000) });
    await put(rig, clock, 'sensors/gh-1/humidity', { value: 40, unit: '%', ts: iso(T0 + 1_000) });
    await put(rig, clock, 'sensors/gh-1/temperature', { value: 22.5, unit: 'C', ts: iso(T0 + 3_000) });
    // Late: published before the 22.5 reading, appended after it.
    await put(rig, clock, 'sensors/gh-1/temperature', { value: 19, unit: 'C', ts: iso(T0 + 2_000) });
    clock.now += 5_000;
    await put(rig, clock, 'devices/gh-1/status', 'online');
    await put(rig, clock, 'sensors/gps-1/speed', { value: 12, unit: 'km/h', location: { lat: 48.1, lon: 11.5, alt: 520 } });
    await put(rig, clock, 'sensors/gps-1/speed', { value: 9, unit: 'km/h', ts: iso(T0 - 60_000), location: { lat: 1, lon: 2 } });
    await rig.close();

    // Reopened: what is on disk, not what was in memory.
    const store = await EventStore.open(storeDir(dir));
    t.after(() => store.close());
    const gh = await readDeviceState(store, 'gh-1');
    assert.ok(gh);
    assert.deepEqual(gh.sensors, {
      temperature: { value: 22.5, unit: 'C', timestamp: iso(T0 + 3_000), seq: 4 },
      humidity: { value: 40, unit: '%', timestamp: iso(T0 + 1_000), seq: 3 },
    }, 'the late 19 °C did not overwrite the newer 22.5 °C');
    assert.deepEqual(gh.status, { state: 'online', payload: { state: 'online' }, timestamp: iso(T0 + 5_000), seq: 6 });
    assert.deepEqual(gh.metadata, { model: 'TH-20', firmware: '2.0.1', capabilities: ['temperature'] }, 'a bare status keeps what the JSON one said');
    assert.equal(gh.lastSeq, 6);
    assert.equal(gh.lastSeen, iso(T0 + 5_000));
    const gps = await readDeviceState(store, 'gps-1');
    assert.deepEqual(gps?.location, { lat: 48.1, lon: 11.5, alt: 520, timestamp: iso(T0 + 5_000), seq: 7 }, 'an older located reading does not move the device');
    assert.equal(gps?.sensors.speed.value, 12);
    assert.equal(gps?.lastSeq, 8, 'the late reading still counts as the device being seen');
    assert.equal(await readDeviceState(store, 'nope'), null);
  });

  test('sensor names and values that JSON must escape, or that name Object.prototype, are kept as they are', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    await put(rig, clock, 'sensors/odd-1/__proto__', '1');
    await put(rig, clock, 'sensors/odd-1/say "hi"', { value: 'a"b\\c\n', unit: 'µ"' });
    await put(rig, clock, 'sensors/odd-1/__proto__', '2');
    await rig.close();
    const store = await EventStore.open(storeDir(dir));
    t.after(() => store.close());
    const odd = await readDeviceState(store, 'odd-1');
    assert.deepEqual(Object.keys(odd!.sensors), ['__proto__', 'say "hi"']);
    assert.equal(Object.getPrototypeOf(odd!.sensors), Object.prototype);
    assert.deepEqual([odd!.sensors['__proto__'].value, odd!.sensors['say "hi"'].value, odd!.sensors['say "hi"'].unit], [2, 'a"b\\c\n', 'µ"']);
  });

  test('a rebuild from the log equals the live projection, and drops an entry the log does not back', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    // Bursts (several events per commit group) and single appends, over several devices.
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) =>
        put(rig, clock, `sensors/dev-${i % 7}/${i % 2 ? 'temperature' : 'pressure'}`, { value: round * 100 + i, unit: i % 2 ? 'C' : 'hPa', ts: iso(T0 + ((i * 37) % 50) * 1_000) }))); // timestamps out of log order
      await put(rig, clock, `devices/dev-${round}/status`, { state: round % 2 ? 'online' : 'offline', firmware: `1.${round}` });
      clock.now += 1_000;
    }
    await put(rig, clock, 'sensors/dev-3/temperature', '7');
    await rig.close();
    const store = await EventStore.open(storeDir(dir));
    t.after(() => store.close());
    const live = await readDeviceStates(store);
    assert.equal(live.length, 7);
    await store.devices.put('ghost', JSON.stringify({ id: 'ghost' }));
    assert.equal(await rebuildDeviceStates(store), 7);
    assert.deepEqual(await readDeviceStates(store), live);
  });

  test('retention: a device none of whose events the log holds leaves the projection', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    t.after(() => rig.close());
    await put(rig, clock, 'sensors/old-1/temperature', '20');
    await put(rig, clock, 'sensors/kept-1/temperature', '21');
    // A receive-time mark past the first two: retention deletes below the newest mark old enough.
    clock.now += 5 * 86_400_000;
    await put(rig, clock, 'sensors/mid-1/temperature', '30');
    clock.now += 5 * 86_400_000;
    await put(rig, clock, 'sensors/kept-1/temperature', '22');
    const { log } = memoryLogger('warn');
    const result = await maintainStore({
      store: rig.store, appender: rig.appender, bus: rig.bus, log, gatewayId: 'gw',
      retentionMs: 86_400_000, maxBytes: Number.MAX_SAFE_INTEGER, forwardedThrough: () => rig.appender.committedSeq,
    });
    assert.equal(result.pruned, 2);
    assert.deepEqual(result.devicesRemoved, ['old-1']);
    await rig.appender.flushed();
    assert.deepEqual((await readDeviceStates(rig.store)).map((d) => [d.id, d.sensors.temperature.value]), [['kept-1', 22], ['mid-1', 30]]);
    // A new reading brings the device back with what it says now, nothing from before.
    await put(rig, clock, 'sensors/old-1/humidity', '50');
    assert.deepEqual(Object.keys((await readDeviceState(rig.store, 'old-1'))!.sensors), ['humidity']);
  });
});
