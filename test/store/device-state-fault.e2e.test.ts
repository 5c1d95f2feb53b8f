// The device state after a write that fails (a real I/O fault: the child daemon runs under
// a soft RLIMIT_FSIZE, see test/ingest/store-fault.e2e.test.ts): the reading whose write
// failed was folded in memory before the write, and must not reach the disk with the next
// group; the state stays what the acknowledged readings say, and equal to a rebuild.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import type { DeviceView } from '../../src/usecases/device-views.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { closed, connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = 100_000;
const BIG = 'x'.repeat(20_000);

async function device(httpUrl: string, id: string): Promise<DeviceView> {
  const res = await fetch(`${httpUrl}/api/devices/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as DeviceView;
}

describe('device state and a failed write', () => {
  const tmp = tempDir();
  let d: ChildDaemon | null = null;
  const clients: MqttClient[] = [];

  after(async () => {
    await endAll(clients);
    await killDaemon(d);
    tmp.cleanup();
  });

  test('what a failed write held never shows; the state equals a rebuild afterwards', async () => {
    const config = writeConfig(tmp.dir, { store: { durability: 'fsync' } });
    d = await spawnDaemon(config, {}, { fileSizeLimit: LIMIT });
    const client = await connect(d.brokerUrl);
    clients.push(client);
    const gone = closed(client);
    let lastAcked = -1;
    let refused = -1;
    for (let i = 0; i < 20 && refused < 0; i++) {
      const outcome = await Promise.race([publish(client, 'sensors/fault-dev/blob', { value: i, note: BIG }).then(() => 'acked', () => 'refused'), gone]);
      if (outcome === 'acked') lastAcked = i;
      else refused = i;
    }
    assert.ok(refused > 0 && lastAcked === refused - 1, `a write past the limit fails (acked through ${lastAcked}, refused ${refused})`);
    await waitFor(async () => (await fetch(`${d!.httpUrl}/healthz`)).status === 200, { timeout: 20_000, message: 'the store to reopen' });

    execFileSync('prlimit', ['--pid', String(d.child.pid), '--fsize=unlimited:']);
    const again = await connect(d.brokerUrl);
    clients.push(again);
    // Another sensor of the same device: its group writes the whole device again.
    await publish(again, 'sensors/fault-dev/other', '1');
    const state = await device(d.httpUrl, 'fault-dev');
    assert.equal(state.sensors.other.value, 1);
    assert.equal(state.sensors.blob.value, lastAcked, 'the refused reading is not in the state');

    d.child.kill('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    const before = await runCli(['devices', '--json', '--config', config]);
    assert.equal(before.code, 0, before.stderr);
    assert.equal((await runCli(['rebuild', 'state', '--config', config])).code, 0);
    assert.equal((await runCli(['devices', '--json', '--config', config])).stdout, before.stdout);
  });
});
