// THE crash test (SPEC §3: the PUBACK is sent only after the event is on disk). A child
// daemon with durability fsync takes QoS 1 load from 20 devices, then dies by SIGKILL.
// After a restart on the same data dir: every acknowledged id is in the log, none twice,
// log seq gap-free from 1. Then the devices reconnect, re-send what was never
// acknowledged (as MQTT clients do) and go on: nothing is lost, doubled or reordered.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents } from '../helpers/api.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { resendUnacked, startLoad, type Device, type Load } from '../helpers/load.js';
import { assertGapFreeFromOne, assertUniqueIds, readStoredEvents } from '../helpers/log.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const DEVICES = 20;
const INFLIGHT = 5;
const ACKS_BEFORE_KILL = 3_000;
const ACKS_AFTER_RESTART = 1_000;

/** Device seq of each of `device`'s readings in the log, in log order. */
const deviceSeqs = (events: readonly EdgeEvent[], device: string) =>
  events.filter((e) => e.source === device).map((e) => Number(e.id.slice(e.id.lastIndexOf('/r') + 2)));

function assertAllAckedStored(events: readonly EdgeEvent[], devices: readonly Device[]): void {
  const stored = new Set(events.map((e) => e.id));
  const acked = devices.flatMap((d) => [...d.acked]);
  const lost = acked.filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged events are not in the log`);
}

describe('kill -9 under QoS 1 load', () => {
  const tmp = tempDir();
  const children: ChildDaemon[] = [];
  const loads: Load[] = [];

  after(async () => {
    for (const load of loads) {
      load.stop();
      await load.close();
    }
    for (const c of children) await killDaemon(c);
    tmp.cleanup();
  });

  test('every acknowledged event survives, none is stored twice, log seq stays gap-free', async (t) => {
    const config = writeConfig(tmp.dir, { store: { durability: 'fsync' } });
    const first = await spawnDaemon(config);
    children.push(first);
    const load = await startLoad(first.brokerUrl, { devices: DEVICES, inflight: INFLIGHT, prefix: 'crash' });
    loads.push(load);
    await waitFor(() => load.acked() >= ACKS_BEFORE_KILL, { timeout: 40_000, message: `${ACKS_BEFORE_KILL} PUBACKs` });
    first.child.kill('SIGKILL');
    assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });
    await load.done; // every client saw its connection drop
    await load.close();
    const devices = load.devices;
    const unacked = devices.reduce((n, d) => n + d.sent.length - d.acked.size, 0);

    // Restart on the same data dir: the log as it was at the kill.
    const second = await spawnDaemon(config);
    children.push(second);
    const recovered = await getEvents(second.httpUrl);
    assert.ok(recovered.length >= load.acked(), `${recovered.length} events for ${load.acked()} PUBACKs`);
    t.diagnostic(`killed after ${load.acked()} PUBACKs with ${unacked} publishes unacknowledged; ${recovered.length} events recovered`);
    assertAllAckedStored(recovered, devices);
    assertUniqueIds(recovered);
    assertGapFreeFromOne(recovered);
    for (const d of devices) {
      const seqs = deviceSeqs(recovered, d.name);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${d.name}: its readings 1..n in order, no hole`);
    }

    // The devices reconnect: first what was never acknowledged (durable ones are duplicates
    // now), then new readings that continue each device's seq.
    await resendUnacked(second.brokerUrl, devices);
    const more = await startLoad(second.brokerUrl, { devices: DEVICES, inflight: INFLIGHT, prefix: 'crash' }, devices);
    loads.push(more);
    const target = load.acked() + unacked + ACKS_AFTER_RESTART;
    await waitFor(() => devices.reduce((n, d) => n + d.acked.size, 0) >= target, { timeout: 40_000, message: 'more PUBACKs after the restart' });
    more.stop();
    await more.done;
    await more.close();
    second.child.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });

    const events = await readStoredEvents(join(tmp.dir, 'data'));
    assertGapFreeFromOne(events);
    assertUniqueIds(events);
    assert.deepEqual(events.slice(0, recovered.length).map((e) => e.id), recovered.map((e) => e.id), 'what was recovered stays as it was');
    const sent = devices.flatMap((d) => d.sent.map((r) => r.id)).sort();
    assert.deepEqual(events.filter((e) => e.type === 'DeviceData').map((e) => e.id).sort(), sent, 'every reading sent is stored exactly once');
    assert.deepEqual(events.filter((e) => e.type === 'SystemEvent').map((e) => e.payload), [], 'no gap or reset: every device seq arrived');
    for (const d of devices) {
      assert.deepEqual(deviceSeqs(events, d.name), d.sent.map((r) => r.seq), `${d.name}: its readings in seq order`);
    }
  });
});
