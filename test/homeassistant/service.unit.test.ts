// The discovery service through its ports: a real EventBus, a scripted projection, and a
// publish that records. What it must not do is as tested as what it does: no config per
// reading, one state per sensor and commit group, no late value over a newer one, one
// read of the projection for many changed devices, and a broker that refuses costs a log
// line, never a crash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventOf, type EdgeEvent } from '../../src/events/types.js';
import { HomeAssistant } from '../../src/homeassistant/service.js';
import type { KnownDevice } from '../../src/homeassistant/discovery.js';
import { EventBus } from '../../src/pipeline/bus.js';
import { draftOn } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

let seq = 0;
function reading(device: string, sensor: string, value: number | string, timestamp: string, unit: string | null = 'C'): EdgeEvent {
  const d = draftOn(`sensors/${device}/${sensor}`, { value, unit }, 0);
  seq++;
  return eventOf({ ...d, timestamp, sensor: { ...d.sensor!, timestamp }, seq, id: `e${seq}`, version: 1 });
}

const T1 = '2026-12-01T10:00:01.000Z';
const T2 = '2026-12-01T10:00:02.000Z';

/** A projection the test fills as the log would; counts how it is read. */
class Projection {
  readonly devices = new Map<string, KnownDevice>();
  reads = { all: 0, one: 0 };
  fold(events: readonly EdgeEvent[]): void {
    for (const e of events) {
      const d = this.devices.get(e.source) ?? { id: e.source, status: null, metadata: {}, sensors: {} };
      const cur = d.sensors[e.sensor!.type];
      if (cur === undefined || cur.timestamp <= e.timestamp) d.sensors[e.sensor!.type] = { value: e.sensor!.value, unit: e.sensor!.unit, timestamp: e.timestamp };
      this.devices.set(e.source, d);
    }
  }
}

function rig(opts: { refuse?: boolean } = {}) {
  const bus = new EventBus();
  const projection = new Projection();
  const sent: [string, string][] = [];
  const { log, lines } = memoryLogger('warn');
  const ha = new HomeAssistant({
    naming: { gatewayId: 'gw', prefix: 'homeassistant', version: '0.1.0', overrides: {} },
    bus, log, ownsGatewayStatus: true,
    publish: async (topic, payload) => {
      if (opts.refuse) throw new Error('link down');
      sent.push([topic, payload]);
    },
    devices: async () => (projection.reads.all++, [...projection.devices.values()]),
    device: async (id) => (projection.reads.one++, projection.devices.get(id) ?? null),
  });
  /** What a commit does: the projection first (same batch), then the bus. */
  const commit = (events: EdgeEvent[]) => {
    projection.fold(events);
    bus.emit('appended', events);
  };
  const on = (topic: string) => sent.filter(([t]) => t === topic).map(([, p]) => p);
  return { bus, ha, projection, sent, lines, commit, on };
}

const CONFIG = 'homeassistant/sensor/gw_gh-1/temperature/config';
const STATE = 'edgebus/gw/ha/device/gh-1/temperature';

describe('HomeAssistant service', () => {
  it('publishes a config when a sensor appears or its unit changes, never per reading', async () => {
    const r = rig();
    r.ha.start();
    await r.ha.idle();
    r.commit([reading('gh-1', 'temperature', 20, T1)]);
    await r.ha.idle();
    assert.equal(r.on(CONFIG).length, 1);
    for (let i = 0; i < 5; i++) r.commit([reading('gh-1', 'temperature', 21 + i, T2)]);
    await r.ha.idle();
    assert.equal(r.on(CONFIG).length, 1, 'readings do not republish the config');
    await waitFor(() => r.on(STATE).at(-1) === '25', { message: 'the newest state' });
    assert.ok(r.on(STATE).length < 6, `states at most once a second, not per reading: ${r.on(STATE).join(' ')}`);
    r.commit([reading('gh-1', 'temperature', 70, T2, 'F')]);
    await r.ha.idle();
    assert.equal(r.on(CONFIG).length, 2, 'a new unit is a new config');
    assert.equal(JSON.parse(r.on(CONFIG)[1]).unit_of_measurement, '°F');
    await r.ha.stop();
  });

  it('sends the newest state per sensor, and a late reading never overwrites a newer one', async () => {
    const r = rig();
    r.ha.start();
    r.commit([reading('gh-1', 'temperature', 20, T1), reading('gh-1', 'temperature', 21, T1), reading('gh-1', 'temperature', 22, T2)]);
    await waitFor(() => r.on(STATE).length === 1, { message: 'the state' });
    assert.deepEqual(r.on(STATE), ['22']);
    // The late reading and a new sensor's in one group: had the late one been taken, it would go out with the other.
    r.commit([reading('gh-1', 'temperature', 5, T1), reading('gh-1', 'dew', 9, T2)]);
    await waitFor(() => r.on('edgebus/gw/ha/device/gh-1/dew').length === 1, { message: 'the other state' });
    assert.deepEqual(r.on(STATE), ['22'], 'the late reading is not shown');
    await r.ha.stop();
  });

  it('reads the projection once for many devices that changed together', async () => {
    const r = rig();
    r.ha.start();
    await r.ha.idle();
    const before = { ...r.projection.reads };
    r.commit(Array.from({ length: 20 }, (_, i) => reading(`n-${i}`, 'temperature', i, T1)));
    await r.ha.idle();
    assert.deepEqual(r.projection.reads, { all: before.all + 1, one: before.one });
    assert.equal(r.sent.filter(([t]) => t.startsWith('homeassistant/sensor/')).length, 20);
    r.commit([reading('n-0', 'humidity', 40, T1, '%')]);
    await r.ha.idle();
    assert.deepEqual(r.projection.reads, { all: before.all + 1, one: before.one + 1 }, 'a few are read one by one');
    await r.ha.stop();
  });

  it('clears the configs, states and availability of forgotten devices with empty retained messages', async () => {
    const r = rig();
    r.ha.start();
    r.commit([reading('gh-1', 'temperature', 20, T1)]);
    await r.ha.idle();
    // A value not yet published when the device goes must not bring its state back.
    r.commit([reading('gh-1', 'temperature', 21, T2)]);
    r.bus.emit('devicesForgotten', ['gh-1']);
    await r.ha.idle();
    await r.ha.stop();
    assert.deepEqual(r.on(CONFIG).at(-1), '');
    assert.deepEqual(r.on(STATE).at(-1), '');
    assert.deepEqual(r.on('edgebus/gw/ha/device/gh-1/availability').at(-1), '');
  });

  it('republishes on online only: another payload on the status topic is not a start of Home Assistant', async () => {
    const r = rig();
    r.ha.start();
    r.commit([reading('gh-1', 'temperature', 20, T1)]);
    await r.ha.idle();
    r.ha.homeAssistantStatus(Buffer.from('offline'));
    await r.ha.idle();
    assert.equal(r.on(CONFIG).length, 1);
    r.ha.homeAssistantStatus(Buffer.from('online'));
    await r.ha.idle();
    assert.equal(r.on(CONFIG).length, 2);
    await r.ha.stop();
    assert.equal(JSON.parse(r.on('edgebus/gw/status').at(-1)!).state, 'offline', 'a stop says offline');
  });

  it('survives a broker that refuses every publish, and says so once', async () => {
    const r = rig({ refuse: true });
    r.ha.start();
    r.commit([reading('gh-1', 'temperature', 20, T1), reading('gh-1', 'mode', 'eco', T1, null)]);
    await r.ha.idle();
    r.bus.emit('alert', { rule: 'hot', state: 'raised', group: 'gh-1', severity: 'warning', message: 'hot', time: T1 });
    await r.ha.idle();
    await r.ha.stop();
    assert.equal(r.lines.filter((l) => l.includes('could not publish')).length, 1);
  });
});
