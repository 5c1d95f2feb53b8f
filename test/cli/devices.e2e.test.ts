// `edgebus devices [ID] [--json]` and `edgebus rebuild state`: through the running daemon's
// API, and from the store once it has stopped, with the same answer both ways; a rebuild
// refused while the daemon runs and equal to the live projection once it has stopped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeviceView } from '../../src/usecases/device-views.js';
import { parseNdjson } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

describe('edgebus devices and rebuild state', () => {
  const tmp = tempDir();
  let config: string;
  let d: ChildDaemon | null = null;
  let live: { json: string; table: string; one: string };

  const cli = (...args: string[]) => runCli([...args, '--config', config], { cwd: tmp.dir });

  before(async () => {
    // The CLI reaches the running daemon through the port its config names.
    config = writeConfig(tmp.dir, { http: { port: await freePort() } });
    d = await spawnDaemon(config);
    const c = await connect(d.brokerUrl);
    try {
      await publish(c, 'devices/gh-1/status', { state: 'online', firmware: '1.4.2', model: 'TH-20' });
      await publish(c, 'sensors/gh-1/temperature', { value: 21.5, unit: 'C' });
      await publish(c, 'sensors/gh-1/humidity', { value: 40, unit: '%' });
      await publish(c, 'sensors/pump-2/flow', '3.5');
      await publish(c, 'devices/pump-2/status', 'offline');
    } finally {
      await endAll([c]);
    }
  });

  after(async () => {
    await killDaemon(d);
    tmp.cleanup();
  });

  it('prints each device through the running daemon: NDJSON with --json, a table otherwise, one device by id', async () => {
    const json = await cli('devices', '--json');
    assert.equal(json.code, 0, json.stderr);
    const devices = parseNdjson<DeviceView>(json.stdout);
    assert.deepEqual(devices.map((x) => [x.id, x.status?.state, Object.keys(x.sensors)]), [
      ['gh-1', 'online', ['temperature', 'humidity']],
      ['pump-2', 'offline', ['flow']],
    ]);
    const table = await cli('devices');
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^DEVICE\s+STATUS\s+LAST SEEN\s+MODEL\/FIRMWARE\s+SENSORS$/);
    assert.match(lines[1], /^gh-1\s+online\s+\S+\s+TH-20 1\.4\.2\s+temperature=21\.5 C, humidity=40 %$/);
    assert.match(lines[2], /^pump-2\s+offline\s+\S+\s+-\s+flow=3\.5$/);
    const one = await cli('devices', 'gh-1', '--json');
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), devices[0]);
    live = { json: json.stdout, table: table.stdout, one: one.stdout };
  });

  it('says so, exit 1, for a device it does not know', async () => {
    const r = await cli('devices', 'nope');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no device "nope" in the device state/);
  });

  it('refuses to rebuild while the daemon runs (exit 2)', async () => {
    const r = await cli('rebuild', 'state');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs the daemon stopped/);
    const bad = await cli('rebuild', 'everything');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /usage: edgebus rebuild state/);
  });

  it('answers the same from the store once the daemon has stopped, and a rebuild changes nothing', async () => {
    d!.child.kill('SIGTERM');
    assert.equal((await d!.exited).code, 0);
    const stored = await cli('devices', '--json');
    assert.equal(stored.code, 0, stored.stderr);
    assert.equal(stored.stdout, live.json);
    assert.equal((await cli('devices')).stdout, live.table);
    assert.equal((await cli('devices', 'gh-1', '--json')).stdout, live.one);
    const rebuilt = await cli('rebuild', 'state');
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /rebuilt from the log: 2 devices/);
    assert.equal((await cli('devices', '--json')).stdout, live.json);
  });
});
