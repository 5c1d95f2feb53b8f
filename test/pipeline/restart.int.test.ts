// What the pipeline remembers across a restart: the dedup index, the log seq, each source's
// device counter and the events waiting in the reorder buffer. Each test stops an
// in-process daemon and starts a new one on the same data dir.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { startDaemon, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { assertGapFreeFromOne, assertUniqueIds } from '../helpers/log.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

describe('pipeline state across a restart', () => {
  let tmp: ReturnType<typeof tempDir> | null = null;
  let running: RunningDaemon | null = null;
  let client: MqttClient | null = null;

  /** Stops whatever runs, then starts a daemon on the test's data dir with one client. */
  async function restart(overrides: ConfigYaml = {}): Promise<RunningDaemon> {
    await endAll([client ?? undefined]);
    client = null;
    await running?.stop();
    running = null;
    tmp ??= tempDir();
    running = await startDaemon(tmp.dir, overrides);
    client = await connect(running.brokerUrl);
    return running;
  }

  afterEach(async () => {
    await endAll([client ?? undefined]);
    await running?.stop();
    tmp?.cleanup();
    client = null;
    running = null;
    tmp = null;
  });

  test('the same explicit id and the same device seq are duplicates after a restart', async () => {
    let d = await restart();
    await publish(client!, 'sensors/rs-a/t', { id: 'restart-id-1', value: 1 });
    await publish(client!, 'sensors/rs-b/t', { seq: 1, value: 1 });
    await publish(client!, 'sensors/rs-b/t', { seq: 2, value: 2 });
    d = await restart();
    const duplicates: string[] = [];
    d.daemon.bus.on('test', 'duplicate', (dup) => duplicates.push(dup.source));
    await publish(client!, 'sensors/rs-a/t', { id: 'restart-id-1', value: 99 });
    await publish(client!, 'sensors/rs-b/t', { seq: 2, value: 99 });
    await publish(client!, 'sensors/rs-b/t', { seq: 3, value: 3 });
    assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_events_duplicate_total'), 2);
    assert.deepEqual(duplicates, ['rs-a', 'rs-b']);
    const events = await getEvents(d.httpUrl);
    assert.deepEqual(events.map((e) => [e.id, e.sensor?.value]), [
      ['restart-id-1', 1], ['rs-b:0:1', 1], ['rs-b:0:2', 2], ['rs-b:0:3', 3],
    ]);
    assertUniqueIds(events);
  });

  test('the log seq continues gap-free after each restart', async () => {
    let d = await restart();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) await publish(client!, `sensors/rs-seq/t${round}`, String(i));
      if (round < 2) d = await restart();
    }
    const status = await getStatus(d.httpUrl);
    assert.equal(status.lastSeq, 15);
    const events = await getEvents(d.httpUrl);
    assert.equal(events.length, 15);
    assertGapFreeFromOne(events);
    assertUniqueIds(events);
    assert.deepEqual(events.map((e) => e.sensor?.type), ['t0', 't1', 't2'].flatMap((t) => Array<string>(5).fill(t)));
  });

  test('an event waiting in the reorder buffer survives a restart and is released after the window', async () => {
    let d = await restart({ store: { reorderWindow: '1h' } });
    await publish(client!, 'sensors/rs-gap/t', { seq: 1, value: 1 });
    await publish(client!, 'sensors/rs-gap/t', { seq: 3, value: 3 }); // acknowledged while it waits for 2
    assert.equal((await getStatus(d.httpUrl)).stagedEvents, 1);
    assert.deepEqual((await getEvents(d.httpUrl)).map((e) => e.id), ['rs-gap:0:1']);
    d = await restart({ store: { reorderWindow: '300ms' } });
    const events = await waitFor(async () => {
      const all = await getEvents(d.httpUrl);
      return all.length >= 3 && all;
    }, { timeout: 5_000, message: 'the staged event to be released' });
    assert.deepEqual(events.map((e) => e.type), ['DeviceData', 'SystemEvent', 'DeviceData']);
    assert.deepEqual(events[1].payload, { kind: 'sequence-gap', source: 'rs-gap', epoch: 0, missing: [2, 2] });
    assert.equal(events[2].id, 'rs-gap:0:3');
    assert.equal(events[2].sensor?.value, 3);
    assertGapFreeFromOne(events);
    assert.equal((await getStatus(d.httpUrl)).stagedEvents, 0);
    // The source's counter survived too: 4 follows without another gap.
    await publish(client!, 'sensors/rs-gap/t', { seq: 4, value: 4 });
    const after = await getEvents(d.httpUrl, { fromSeq: 4 });
    assert.deepEqual(after.map((e) => e.id), ['rs-gap:0:4']);
  });
});
