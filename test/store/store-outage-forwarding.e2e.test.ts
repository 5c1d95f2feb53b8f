// A long store outage under load must not cost upstream an event (SPEC §3, §4): a real
// `edgebus start` child forwards to mosquitto while devices publish at QoS 1, and the test
// lowers the child's RLIMIT_FSIZE to one byte (`prlimit --pid`), so every write fails with
// EFBIG and so does every reopen of the store, for seconds, before the limit is lifted.
// Afterwards, and again after a restart: every acknowledged reading is stored, and every
// stored event has arrived upstream, once, in seq order.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { firstArrivals, startCollector, type Collector } from '../helpers/collector.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { Feeder } from '../helpers/feeder.js';
import { readStoredEvents } from '../helpers/log.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const EVENTS = 'edgebus/test-gw/events';
/** Failed writes and reopens per outage: with the reopen's backoff, several seconds of it. */
const FAILURES_PER_OUTAGE = 7;
const OUTAGES = 4;

interface UpstreamStatus { connected: boolean; acknowledgedThrough: number; backlog: number }

describe('forwarding through a long store outage', () => {
  let broker: UpstreamBroker;
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let d: ChildDaemon;
  let collector: Collector;
  const feeder = new Feeder({ devices: 3, inflight: 4, pauseMs: 50 });
  const limitFileSize = (limit: number | 'unlimited') => execFileSync('prlimit', ['--pid', String(d.child.pid), `--fsize=${limit}:`]);
  const writeErrors = async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_store_write_errors_total') ?? 0;
  const status = async () => (await getStatus(d.httpUrl)) as { lastSeq: number; stagedEvents: number; upstream: UpstreamStatus };
  /**
   * Nothing waits in the reorder buffer (a device's readings after the ones refused in an
   * outage wait there for the reorder window, acknowledged, before they enter the log), and
   * the forwarder says upstream has acknowledged everything the log holds.
   */
  const caughtUp = () => waitFor(async () => {
    const s = await status();
    return s.stagedEvents === 0 && s.upstream.connected && s.upstream.backlog === 0 && s.upstream.acknowledgedThrough >= s.lastSeq;
  }, { timeout: 60_000, message: 'the reorder buffer to empty and the forwarder to catch up' });

  /** Every stored event upstream, first arrivals in seq order, none twice; every acknowledged reading stored. */
  const assertDelivered = async (stored: readonly EdgeEvent[], label: string) => {
    // Upstream acknowledged them before the collector has them: wait for what should come,
    // and let the assertions below name what did not.
    await collector.waitForSeqs(stored.map((e) => e.seq), 10_000).catch(() => {});
    const storedIds = new Set(stored.map((e) => e.id));
    const lostInStore = feeder.ackedIds().filter((id) => !storedIds.has(id));
    assert.deepEqual(lostInStore, [], `${label}: acknowledged readings missing from the store`);
    const upstream = new Set(collector.events().map((e) => e.seq));
    const missing = stored.filter((e) => !upstream.has(e.seq)).map((e) => `${e.seq} ${e.id}`);
    assert.deepEqual(missing, [], `${label}: stored events (of ${stored.length}) that never reached upstream`);
    assert.deepEqual(firstArrivals(collector.events()), stored.map((e) => e.seq), `${label}: upstream order`);
    // The link stayed up throughout: nothing had to be sent twice.
    assert.equal(collector.events().length, stored.length, `${label}: events upstream more than once`);
  };

  before(async () => {
    broker = await startUpstreamBroker();
    tmp = tempDir();
    collector = await startCollector(broker.url, EVENTS);
    file = writeConfig(tmp.dir, {
      store: { durability: 'fsync' },
      upstream: { url: broker.url, keepalive: '2s', retry: { initialDelay: '50ms', maxDelay: '300ms' }, batch: { maxEvents: 50, linger: '100ms' } },
    });
    d = await spawnDaemon(file);
    await waitFor(async () => (await status()).upstream.connected, { message: 'upstream connected' });
    feeder.start(() => d.brokerUrl);
    await waitFor(() => feeder.acked() >= 200, { timeout: 20_000, message: 'the devices publishing' });
  });
  after(async () => {
    await feeder.stop();
    try {
      if (d?.child.exitCode === null) limitFileSize('unlimited');
    } catch { /* the child is gone */ }
    await collector?.close();
    await killDaemon(d);
    await broker?.stop();
    tmp?.cleanup();
  });

  it('forwards every acknowledged reading after outages in which the reopen keeps failing', async () => {
    for (let i = 0; i < OUTAGES; i++) {
      const before = await writeErrors();
      limitFileSize(1);
      try {
        // The first failed write, then reopens failing one after another.
        await waitFor(async () => (await writeErrors()) >= before + FAILURES_PER_OUTAGE, { timeout: 30_000, message: `outage ${i + 1}: failing reopens` });
      } finally {
        limitFileSize('unlimited');
      }
      const from = feeder.acked() + 300;
      await waitFor(() => feeder.acked() >= from, { timeout: 30_000, message: `outage ${i + 1}: readings acknowledged again` });
    }
    await feeder.stop();
    await caughtUp();
    d.child.kill('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    await assertDelivered(await readStoredEvents(join(tmp.dir, 'data')), 'after the outages');
  });

  it('and after a restart nothing is left behind the cursor', async () => {
    d = await spawnDaemon(file);
    await caughtUp();
    const before = collector.events().length;
    d.child.kill('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    const stored = await readStoredEvents(join(tmp.dir, 'data'));
    await assertDelivered(stored, 'after a restart');
    assert.equal(collector.events().length, before, 'a restart with nothing left to send sends nothing');
  });
});
