// `edgebus status [--json]` (SPEC §1) against a running child daemon, found through the
// config file's data dir; and exit 2 when no daemon runs there.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getStatus } from '../helpers/api.js';
import { runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, publish } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { hotRule } from '../helpers/rules.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const HOT = hotRule({ count: 1 });

describe('edgebus status', () => {
  let tmp: ReturnType<typeof tempDir>;
  let configFile: string;
  let child: ChildDaemon;

  before(async () => {
    tmp = tempDir();
    mkdirSync(join(tmp.dir, 'rules'), { recursive: true });
    writeFileSync(join(tmp.dir, 'rules', 'hot.yaml'), HOT);
    // An upstream nobody listens on, with credentials status must not show.
    const deadPort = await freePort();
    configFile = writeConfig(tmp.dir, {
      upstream: { url: `mqtt://gw:s3cret@127.0.0.1:${deadPort}`, retry: { initialDelay: '1s', maxDelay: '5s' } },
    });
    child = await spawnDaemon(configFile);
    const device = await connect(child.brokerUrl);
    try {
      for (const v of [21, 22, 35]) await publish(device, 'sensors/gh-1/temperature', { value: v, unit: 'C' });
    } finally {
      await device.endAsync();
    }
    await waitFor(async () => ((await getStatus(child.httpUrl)).rules as { alerts: object }).alerts, { message: 'the alert counted' });
  });

  after(async () => {
    child?.child.kill('SIGTERM');
    await child?.exited;
    tmp?.cleanup();
  });

  it('--json prints what /api/status returns', async () => {
    const r = await runCli(['status', '--json', '--config', configFile]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(s.gatewayId, 'test-gw');
    assert.equal(s.state, 'ok');
    assert.ok(s.uptimeSeconds >= 0);
    assert.ok(s.ingestRatePerSecond > 0, 'ingest rate over the last minute');
    assert.ok(s.storeEvents >= 4, 'three readings and an alert');
    assert.equal(s.lastSeq, s.storeEvents);
    assert.ok(s.storeBytes > 0);
    assert.equal(s.dlqEvents, 0);
    assert.ok(s.disk.freeBytes > 0);
    assert.deepEqual([s.disk.minFree, s.disk.low], [0, false], 'store.minFree off, as the test config sets it');
    assert.equal(s.upstream.connected, false);
    assert.ok(s.upstream.backlog >= 4);
    assert.ok(s.upstream.oldestUnsentSeconds >= 0);
    assert.doesNotMatch(r.stdout, /s3cret/);
    assert.equal(s.rules.loaded, 1);
    assert.deepEqual(s.rules.alerts, { hot: { raised: 1, cleared: 0 } });
    assert.ok(['synced', 'unsynced', 'stepped'].includes(s.clock.quality));
    assert.equal(s.clock.sync, 'auto');
    assert.deepEqual(Object.keys(s).sort(), Object.keys(await getStatus(child.httpUrl)).sort());
  });

  it('prints a compact summary for a person', async () => {
    const r = await runCli(['status', '--config', configFile]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^edgebus: +\S+ +gateway test-gw +ok +up \d+/m);
    assert.match(out, /^ingest: +\d+\.\d+ msgs\/s \(last minute\)/m);
    assert.match(out, /^store: +\d+ events, last seq \d+, [\d.]+ (B|KiB|MiB)/m);
    assert.match(out, /^upstream: +mqtt:\/\/127\.0\.0\.1:\d+\/? +down$/m);
    assert.match(out, /^ +backlog \d+ events, oldest unsent \d+s, forwarded 0 in 0 batches/m);
    assert.match(out, /^clock: +\d{4}-\d\d-\d\dT\S+Z +(synced|unsynced|stepped)/m);
    assert.match(out, /^disk: +[\d.]+ (B|KiB|MiB|GiB) free, store.minFree off$/m);
    assert.match(out, /^dlq: +0 entries$/m);
    assert.match(out, /^rules: +1 loaded; alerts: hot 1 raised\/0 cleared$/m);
    assert.match(out, /^devices: +none$/m);
    assert.doesNotMatch(out, /s3cret/);
  });

  it('exits 2 with a clear message when no daemon runs for the data dir', async (t) => {
    const dir = tempDirFor(t);
    const file = writeConfig(dir);
    const r = await runCli(['status', '--config', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no edgebus daemon is running for dataDir .*; start it with `edgebus start`/);
    const j = await runCli(['status', '--json', '--config', file]);
    assert.equal(j.code, 2);
    assert.equal(j.stdout, '');
  });
});
