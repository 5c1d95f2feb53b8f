// A graceful stop under load (SPEC §1 `start`): SIGTERM → flush, close, exit 0, and every
// publish that got its PUBACK is in the store afterwards.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { startLoad, type Load } from '../helpers/load.js';
import { assertGapFreeFromOne, assertUniqueIds, readStoredEvents } from '../helpers/log.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

describe('SIGTERM under a stream of QoS 1 publishes', () => {
  const tmp = tempDir();
  let d: ChildDaemon | null = null;
  let load: Load | null = null;

  after(async () => {
    load?.stop();
    await load?.close();
    await killDaemon(d);
    tmp.cleanup();
  });

  test('exits 0, logs "edgebus stopped", and loses no acknowledged publish', async () => {
    d = await spawnDaemon(writeConfig(tmp.dir, { store: { durability: 'fsync' } }));
    const health = await fetch(`${d.httpUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    load = await startLoad(d.brokerUrl, { devices: 8, inflight: 4, prefix: 'term' });
    await waitFor(() => load!.acked() >= 600, { timeout: 20_000, message: '600 PUBACKs' });
    d.child.kill('SIGTERM');
    // The daemon closes the connections as it stops; publishing goes on until then.
    await waitFor(() => d!.child.exitCode !== null || d!.child.signalCode !== null, { timeout: 20_000, message: 'the daemon to exit' });
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    await load.done;
    assert.match(d.output(), /"msg":"edgebus stopped"/);

    const events = await readStoredEvents(join(tmp.dir, 'data'));
    const stored = new Set(events.map((e) => e.id));
    const acked = load.devices.flatMap((dev) => [...dev.acked]);
    assert.ok(acked.length >= 600);
    const lost = acked.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged publishes are missing`);
    assertUniqueIds(events);
    assertGapFreeFromOne(events);
    // Each device's readings are in its own seq order in the log.
    for (const dev of load.devices) {
      const seqs = events.filter((e) => e.source === dev.name).map((e) => Number(e.id.split('/r')[1]));
      assert.deepEqual(seqs, seqs.slice().sort((a, b) => a - b), `${dev.name} out of order`);
    }
  });
});
