// The device-state projection is written in the same atomic batch as the events it reflects:
// after a kill -9 under QoS 1 load (readings, late readings, JSON statuses), the projection
// the store holds is exactly what a rebuild from the log gives, and so is the one the
// restarted daemon keeps once it has released what waited in its reorder buffer.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { DeviceView } from '../../src/usecases/device-views.js';
import { getStatus, parseNdjson } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { startLoad, type Load } from '../helpers/load.js';
import { closed, connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const DEVICES = 8;
const ACKS_BEFORE_KILL = 2_000;
const T0 = Date.parse('2026-11-26T10:00:00.000Z');

/** Statuses and timestamped readings beside the load, out of time order, until the connection dies. */
function sideTraffic(client: MqttClient): Promise<void> {
  return (async () => {
    const gone = closed(client);
    for (let i = 0; ; i++) {
      const device = `state-${i % DEVICES}`;
      // Every fourth round is statuses, the others readings: each device gets both.
      const sent = Math.floor(i / DEVICES) % 4 === 0
        ? publish(client, `devices/${device}/status`, { state: i % 3 ? 'online' : 'offline', firmware: `1.${i}`, model: 'L-1' })
        : publish(client, `sensors/${device}/temperature`, { value: i, unit: 'C', ts: new Date(T0 + ((i * 7919) % 1000) * 1000).toISOString() });
      if ((await Promise.race([sent.then(() => 'ok' as const, () => 'failed' as const), gone])) !== 'ok') return;
    }
  })();
}

describe('device state after kill -9', () => {
  const tmp = tempDir();
  const children: ChildDaemon[] = [];
  const loads: Load[] = [];
  const clients: MqttClient[] = [];

  after(async () => {
    for (const load of loads) {
      load.stop();
      await load.close();
    }
    await endAll(clients);
    for (const c of children) await killDaemon(c);
    tmp.cleanup();
  });

  test('a rebuild from the log gives exactly the projection the store holds, before and after the restart', async () => {
    const config = writeConfig(tmp.dir, { store: { durability: 'fsync' } });
    const devicesJson = async (): Promise<string> => {
      const r = await runCli(['devices', '--json', '--config', config]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const rebuild = async (): Promise<void> => {
      const r = await runCli(['rebuild', 'state', '--config', config]);
      assert.equal(r.code, 0, r.stderr);
    };

    const first = await spawnDaemon(config);
    children.push(first);
    const load = await startLoad(first.brokerUrl, { devices: DEVICES, inflight: 5, prefix: 'state' });
    loads.push(load);
    const side = await connect(first.brokerUrl);
    clients.push(side);
    const sideDone = sideTraffic(side);
    await waitFor(() => load.acked() >= ACKS_BEFORE_KILL, { timeout: 40_000, message: `${ACKS_BEFORE_KILL} PUBACKs` });
    first.child.kill('SIGKILL');
    assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });
    await load.done;
    await sideDone;

    const crashed = await devicesJson();
    const devices = parseNdjson<DeviceView>(crashed);
    assert.deepEqual(devices.map((d) => d.id), Array.from({ length: DEVICES }, (_, i) => `state-${i}`));
    assert.ok(devices.every((d) => d.sensors.load !== undefined && d.lastSeq > 0), 'every device has its readings');
    assert.ok(devices.some((d) => d.metadata.firmware !== undefined && d.sensors.temperature !== undefined), 'and the side traffic');
    await rebuild();
    assert.equal(await devicesJson(), crashed, 'the rebuilt projection is the one the crash left');

    const second = await spawnDaemon(config);
    children.push(second);
    // Readings acknowledged ahead of a predecessor that never came wait in the reorder buffer.
    await waitFor(async () => (await getStatus(second.httpUrl)).stagedEvents === 0, { message: 'the reorder buffer released' });
    // The restarted daemon folds on from the projection it loaded.
    const again = await connect(second.brokerUrl);
    clients.push(again);
    await publish(again, 'sensors/state-0/temperature', { value: 999, unit: 'C' });
    await publish(again, 'devices/state-1/status', { state: 'online', firmware: '2.0' });
    second.child.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });
    // What the restarted daemon kept, every group it committed included.
    const restarted = await devicesJson();
    const moved = parseNdjson<DeviceView>(restarted);
    assert.equal(moved[0].sensors.temperature.value, 999);
    assert.deepEqual(moved[1].metadata, { model: 'L-1', firmware: '2.0' });
    await rebuild();
    assert.equal(await devicesJson(), restarted, 'the rebuilt projection is the one the restarted daemon kept');
  });
});
