// The forwarder over a real LevelDB log, with a scripted upstream port: refusals by
// content (which no stock broker gives per event), bisection to the bad event, the cursor
// across a restart, and what goes first after an outage. The real broker is in
// forward.e2e.test.ts.
import assert from 'node:assert/strict';
import { decode } from 'cbor-x';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { UpstreamConfig } from '../../src/config/types.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { listRejected } from '../../src/store/rejected.js';
import { Forwarder, type PublishOutcome, type UpstreamPort } from '../../src/upstream/forwarder.js';
import { readCursor } from '../../src/upstream/cursor.js';
import { draftOn } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Errors the forwarder logged (a failed log read stalls it): each test must end with none. */
const { log, lines: errors } = memoryLogger('error');

/** The upstream block as a user writes it, through the real config loader. */
function upstreamConfig(extra: Record<string, unknown> = {}): UpstreamConfig {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgebus.yaml');
    writeFileSync(file, stringify({
      gatewayId: 'gw',
      upstream: { url: 'mqtt://127.0.0.1:1', batch: { maxEvents: 10, linger: '0ms' }, retry: { initialDelay: '1ms', maxDelay: '5ms', maxAttempts: 3 }, ...extra },
    }));
    return loadConfig({ file, env: {} }).config.upstream!;
  } finally {
    tmp.cleanup();
  }
}

/** An upstream that acknowledges on demand and refuses any batch holding a poisoned id. */
class ScriptedPort implements UpstreamPort {
  connected = true;
  maxPacketSize: number | null = null;
  readonly sent: EdgeEvent[][] = [];
  readonly poisoned = new Set<string>();
  /** When set, PUBACKs wait until release(). */
  hold = false;
  private held: (() => void)[] = [];

  publish(_topic: string, payload: Buffer): Promise<PublishOutcome> {
    const batch = (decode(payload) as { events: EdgeEvent[] }).events;
    this.sent.push(batch);
    const bad = batch.find((e) => this.poisoned.has(e.id));
    const outcome: PublishOutcome = bad ? { ok: false, reasonCode: 0x99, reason: 'payload format invalid' } : { ok: true };
    if (!this.hold) return Promise.resolve(outcome);
    return new Promise((resolve) => this.held.push(() => resolve(outcome)));
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  arrived(): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    for (const e of this.sent.flat()) {
      if (!seen.has(e.seq)) out.push(e.seq);
      seen.add(e.seq);
    }
    return out;
  }
}

describe('forwarder', () => {
  let tmp: ReturnType<typeof tempDir>;
  let rig: StoreRig;
  const clock = { now: Date.now() };

  beforeEach(async () => {
    tmp = tempDir();
    rig = await openRig(tmp.dir, clock);
  });
  afterEach(async () => {
    await rig.close();
    tmp.cleanup();
    assert.deepEqual(errors.splice(0), [], 'the forwarder logged no error');
  });

  function forwarder(port: ScriptedPort, config = upstreamConfig()): Forwarder {
    const f = new Forwarder({ store: rig.store, bus: rig.bus, link: port, config, gatewayId: 'gw', lastSeq: () => rig.appender.committedSeq, log, now: () => clock.now });
    rig.bus.on('forwarder', 'appended', () => f.poke());
    return f;
  }

  async function append(n: number, device = 'd', extra: Record<string, unknown> = {}): Promise<void> {
    for (let i = 0; i < n; i++) await rig.appender.append(draftOn(`sensors/${device}/t`, { value: i, ...extra }, clock.now));
  }

  it('bisects a refused batch down to the one bad event, dead-letters it and forwards the rest in order', async () => {
    await append(7);
    await rig.appender.append(draftOn('sensors/d/t', { value: 99, id: 'bad-one' }, clock.now));
    await append(12);
    const port = new ScriptedPort();
    port.poisoned.add('bad-one');
    const f = forwarder(port);
    await f.init();
    f.linkUp();
    await f.drained();
    const all = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.deepEqual(port.arrived().filter((s) => s !== 8), all.filter((s) => s !== 8));
    const delivered = new Set(port.sent.filter((b) => !b.some((e) => e.id === 'bad-one')).flat().map((e) => e.seq));
    assert.ok(!delivered.has(8), 'the bad event was never acknowledged');
    assert.deepEqual([...delivered].sort((a, b) => a - b), all.filter((s) => s !== 8), 'every other event acknowledged');
    const refusedWhole = port.sent.filter((b) => b.length === 10 && b.some((e) => e.id === 'bad-one')).length;
    assert.equal(refusedWhole, 3, 'the first batch was tried maxAttempts (3) times before it was split');
    const dlq = (await listRejected(rig.store)).filter((r) => r.reason === 'upstream-refused');
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0].seq, 8);
    assert.match(dlq[0].detail, /bad-one.*payload format invalid.*0x99/);
    assert.equal(f.counters.deadLettered, 1);
    assert.equal(f.counters.retries, 2);
    await f.stop();
    assert.equal(await readCursor(rig.store), 20, 'the cursor passed the dead-lettered event');
  });

  it('moves the cursor only over batches acknowledged with everything below them, and resends the rest after a restart', async () => {
    await append(30);
    const port = new ScriptedPort();
    port.hold = true;
    const f = forwarder(port, upstreamConfig({ inflight: 3 }));
    await f.init();
    f.linkUp();
    await waitFor(() => port.sent.length === 3, { message: 'three batches in flight' });
    assert.equal(f.acknowledgedThrough, 0, 'nothing acknowledged yet');
    await f.stop();
    assert.equal(await readCursor(rig.store), 0);

    const again = new ScriptedPort();
    const g = forwarder(again);
    await g.init();
    g.linkUp();
    await g.drained();
    assert.deepEqual(again.arrived(), Array.from({ length: 30 }, (_, i) => i + 1), 'all resent from the cursor');
    await g.stop();
    assert.equal(await readCursor(rig.store), 30);
  });

  it('after an outage sends high and critical events first, then drains the rest oldest first, each once', async () => {
    const port = new ScriptedPort();
    port.connected = false;
    const f = forwarder(port);
    await f.init();
    await append(25);
    await rig.appender.append(draftOn('sensors/d/smoke', { value: 1, priority: 'critical', id: 'fire' }, clock.now));
    await append(25);
    port.connected = true;
    f.linkUp();
    await f.drained();
    assert.deepEqual(port.sent[0].map((e) => e.id), ['fire'], 'the alert overtakes the backlog');
    const rest = port.sent.slice(1).flat().map((e) => e.seq);
    assert.deepEqual(rest, Array.from({ length: 51 }, (_, i) => i + 1).filter((s) => s !== 26), 'then the backlog, in order, without the alert again');
    await f.stop();
    assert.equal(await readCursor(rig.store), 51);
  });

  it('reads a refused batch back from the log to send it again: the same events, less one whose ttl passed meanwhile, counted once', async () => {
    await rig.appender.append(draftOn('sensors/d/t', { value: 1, ttl: 60, id: 'short-lived' }, clock.now));
    await rig.appender.append(draftOn('sensors/d/t', { value: 2, id: 'bad-one' }, clock.now));
    await append(3);
    const port = new ScriptedPort();
    port.poisoned.add('bad-one');
    port.hold = true;
    const f = forwarder(port);
    await f.init();
    f.linkUp();
    await waitFor(() => port.sent.length === 1);
    assert.deepEqual(port.sent[0].map((e) => e.seq), [1, 2, 3, 4, 5], 'sent whole while the ttl held');
    // The ttl passes while upstream makes up its mind; then it refuses the batch.
    clock.now += 120_000;
    port.hold = false;
    port.release();
    await f.drained();
    const again = port.sent.slice(1, 3);
    assert.deepEqual(again.map((b) => b.map((e) => e.seq)), [[2, 3, 4, 5], [2, 3, 4, 5]], 'retried from the log without the expired event');
    assert.equal(f.counters.expired, 1);
    assert.equal(f.counters.deadLettered, 1);
    assert.equal(f.counters.forwarded, 3, 'the three good readings, each counted once');
    await f.stop();
    assert.equal(await readCursor(rig.store), 5);
  });

  it('sends nothing again when every event of a refused batch expired while it waited, and moves the cursor over them', async () => {
    await rig.appender.append(draftOn('sensors/d/t', { value: 1, ttl: 60, id: 'bad-one' }, clock.now));
    await rig.appender.append(draftOn('sensors/d/t', { value: 2, ttl: 60 }, clock.now));
    const port = new ScriptedPort();
    port.poisoned.add('bad-one');
    port.hold = true;
    const f = forwarder(port);
    await f.init();
    f.linkUp();
    await waitFor(() => port.sent.length === 1);
    clock.now += 120_000;
    port.hold = false;
    port.release();
    await f.drained();
    assert.equal(port.sent.length, 1, 'no empty batch, no expired event sent again');
    assert.equal(f.counters.expired, 2);
    assert.equal(f.counters.forwarded, 0);
    assert.equal(f.counters.retries, 0);
    await f.stop();
    assert.equal(await readCursor(rig.store), 2);
  });

  it('skips events past their ttl, counts them once, and still moves the cursor over them', async () => {
    const port = new ScriptedPort();
    const f = forwarder(port);
    await f.init();
    const old = new Date(clock.now - 120_000).toISOString();
    await rig.appender.append(draftOn('sensors/d/t', { value: 1, ts: old, ttl: 60, id: 'stale' }, clock.now));
    await append(3);
    f.linkUp();
    await f.drained();
    assert.ok(!port.sent.flat().some((e) => e.id === 'stale'));
    assert.equal(f.counters.expired, 1);
    await f.stop();
    assert.equal(await readCursor(rig.store), 4);
  });
});
