// A publish that cannot be stored is not acknowledged (SPEC §3), with a real I/O fault:
// the child daemon runs under a soft RLIMIT_FSIZE, so LevelDB's write-ahead log write
// fails with EFBIG once the file reaches the limit (Node ignores SIGXFSZ). Raising the
// limit again (`prlimit --pid`) is the fault clearing, like a disk that has space again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getEvents, getMetrics } from '../helpers/api.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { readStoredEvents, assertGapFreeFromOne } from '../helpers/log.js';
import { closed, connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = 100_000;
const BIG = 'x'.repeat(20_000);

/** Publishes until the broker stops acknowledging; returns the acknowledged ids and the refused one. */
async function publishUntilRefused(client: MqttClient, prefix: string, max: number): Promise<{ acked: string[]; refused: string | null }> {
  const gone = closed(client);
  const acked: string[] = [];
  for (let i = 0; i < max; i++) {
    const id = `${prefix}-${i}`;
    const outcome = await Promise.race([publish(client, 'sensors/fault-dev/blob', { id, value: i, note: BIG }).then(() => 'acked', () => 'refused'), gone]);
    if (outcome !== 'acked') return { acked, refused: id };
    acked.push(id);
  }
  return { acked, refused: null };
}

describe('store write failure under a running daemon', () => {
  const tmp = tempDir();
  let d: ChildDaemon;
  const clients: MqttClient[] = [];
  const acknowledged: string[] = [];

  before(async () => {
    d = await spawnDaemon(writeConfig(tmp.dir, { store: { durability: 'fsync' } }), {}, { fileSizeLimit: LIMIT });
  });
  after(async () => {
    await endAll(clients);
    await killDaemon(d);
    tmp.cleanup();
  });

  test('the publish whose write fails gets no PUBACK; the client is disconnected; nothing is stored', async () => {
    const client = await connect(d.brokerUrl);
    clients.push(client);
    const { acked, refused } = await publishUntilRefused(client, 'before', 20);
    assert.ok(refused !== null, 'a write past the file size limit must fail');
    assert.ok(acked.length >= 1, 'the writes below the limit were acknowledged');
    acknowledged.push(...acked);
    await closed(client);
    await waitFor(() => d.output().includes('store write failed'), { message: 'the store error log line' });
    assert.match(await getMetrics(d.httpUrl), /^edgebus_store_write_errors_total [1-9]/m);
    // The store is reopened (a fresh write-ahead log, below the limit again): the daemon
    // is healthy, kept running, and its log holds exactly what was acknowledged.
    await waitFor(async () => (await fetch(`${d.httpUrl}/healthz`)).status === 200, { timeout: 20_000, message: 'the store to reopen' });
    assert.equal(d.child.exitCode, null, 'the daemon keeps running');
    assert.deepEqual((await getEvents(d.httpUrl)).map((e) => e.id), acked);
  });

  test('once the fault clears, what is acknowledged afterwards is durable across a restart', async () => {
    execFileSync('prlimit', ['--pid', String(d.child.pid), '--fsize=unlimited:']);
    const client = await connect(d.brokerUrl);
    clients.push(client);
    const { acked } = await publishUntilRefused(client, 'after', 10);
    assert.equal(acked.length, 10, 'with the limit lifted every publish is acknowledged');
    acknowledged.push(...acked);
    d.child.kill('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    const events = await readStoredEvents(join(tmp.dir, 'data'));
    const stored = new Set(events.map((e) => e.id));
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], 'acknowledged events missing from the store after a clean restart');
    assertGapFreeFromOne(events);
  });
});
