// The forwarder with routes over a real LevelDB log and a scripted upstream port that can
// hold or refuse the PUBACKs of one topic: the one cursor moves over a batch only when the
// publish of every topic it went to is acknowledged, and a refusal on one topic sends the
// whole batch again, sampled routes thinning it the same way. The real broker is in
// routes.e2e.test.ts.
import assert from 'node:assert/strict';
import { decode } from 'cbor-x';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { UpstreamRouting } from '../../src/routes/upstream-routing.js';
import { readCursor } from '../../src/upstream/cursor.js';
import { Forwarder, type PublishOutcome, type UpstreamPort } from '../../src/upstream/forwarder.js';
import { draftOn } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const { log, lines: errors } = memoryLogger('error');

/** The config as a user writes it, through the real loader. */
function loadWith(routes: unknown[]): Config {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgebus.yaml');
    writeFileSync(file, stringify({
      gatewayId: 'gw',
      upstream: { url: 'mqtt://127.0.0.1:1', batch: { maxEvents: 10, linger: '0ms' }, retry: { initialDelay: '1ms', maxDelay: '5ms', maxAttempts: 5 } },
      routes,
    }));
    return loadConfig({ file, env: {} }).config;
  } finally {
    tmp.cleanup();
  }
}

interface Sent { topic: string; batch: number; seqs: number[] }

/** Acknowledges at once, except a held topic (until release) and refusals scripted per topic. */
class ScriptedPort implements UpstreamPort {
  connected = true;
  maxPacketSize: number | null = null;
  readonly sent: Sent[] = [];
  holdTopic: string | null = null;
  /** Topic → how many of its next publishes are refused. */
  readonly refuse = new Map<string, number>();
  private held: (() => void)[] = [];

  publish(topic: string, payload: Buffer): Promise<PublishOutcome> {
    const body = decode(payload) as { batch: number; events: EdgeEvent[] };
    this.sent.push({ topic, batch: body.batch, seqs: body.events.map((e) => e.seq) });
    const refusals = this.refuse.get(topic) ?? 0;
    if (refusals > 0) {
      this.refuse.set(topic, refusals - 1);
      return Promise.resolve({ ok: false, reasonCode: 0x97, reason: 'quota exceeded' });
    }
    if (topic !== this.holdTopic) return Promise.resolve({ ok: true });
    return new Promise((resolve) => this.held.push(() => resolve({ ok: true })));
  }

  release(): void {
    this.holdTopic = null;
    for (const r of this.held.splice(0)) r();
  }

  on(topic: string): number[][] {
    return this.sent.filter((s) => s.topic === topic).map((s) => s.seqs);
  }
}

describe('forwarder with routes', () => {
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

  function forwarder(port: ScriptedPort, config: Config): Forwarder {
    const up = config.upstream!;
    const f = new Forwarder({
      store: rig.store, bus: rig.bus, link: port, config: up, gatewayId: 'gw', lastSeq: () => rig.appender.committedSeq, log, now: () => clock.now,
      routing: new UpstreamRouting(config.routes, config.gatewayId, up.topic),
    });
    rig.bus.on('forwarder', 'appended', () => f.poke());
    return f;
  }

  const reading = (device: string, value: number) => rig.appender.append(draftOn(`sensors/${device}/t`, { value }, clock.now));
  const status = (device: string) => rig.appender.append(draftOn(`devices/${device}/status`, { online: true }, clock.now));

  it('moves the cursor over a batch only once every topic it went to has acknowledged it', async () => {
    const config = loadWith([
      { match: { type: 'DeviceData' }, upstream: 'data/{source}' },
      { match: { type: 'DeviceStatus' }, upstream: 'status', priority: 5 },
    ]);
    for (let i = 0; i < 3; i++) await reading('a', i);
    await status('a');
    await reading('b', 1);
    await reading('a', 9);
    const port = new ScriptedPort();
    port.holdTopic = 'status';
    const f = forwarder(port, config);
    await f.init();
    f.linkUp();
    await waitFor(() => port.sent.length === 3, { message: 'one batch, three topics' });
    assert.deepEqual(port.sent.map((s) => [s.topic, s.seqs]), [['status', [4]], ['data/a', [1, 2, 3, 6]], ['data/b', [5]]],
      'the higher priority first, then by first event; each topic in seq order');
    assert.equal(new Set(port.sent.map((s) => s.batch)).size, 1, 'all under the batch\'s one number');
    // The data topics are acknowledged; status is not yet: the batch is not.
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(f.acknowledgedThrough, 0);
    port.release();
    await f.drained();
    assert.equal(f.acknowledgedThrough, 6);
    await f.stop();
    assert.equal(await readCursor(rig.store), 6);
  });

  it('sends the whole batch again when one topic refuses it, and a sampled route keeps the same events', async () => {
    const config = loadWith([
      { match: { type: 'DeviceData' }, upstream: 'all' },
      { match: { type: 'DeviceData' }, upstream: 'thin/{source}', sample: { every: 3 } },
    ]);
    for (let i = 0; i < 8; i++) await reading('a', i);
    const port = new ScriptedPort();
    port.refuse.set('thin/a', 2);
    const f = forwarder(port, config);
    await f.init();
    f.linkUp();
    await f.drained();
    assert.deepEqual(port.on('thin/a'), [[1, 4, 7], [1, 4, 7], [1, 4, 7]], 'refused twice, then taken: the same sample each time');
    assert.deepEqual(port.on('all'), [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]], 'at least once: the other topic gets the batch again');
    assert.equal(f.counters.retries, 2);
    assert.equal(f.counters.deadLettered, 0);
    await f.stop();
    assert.equal(await readCursor(rig.store), 8);
  });

  it('acknowledges a batch none of whose events leave the site without publishing anything', async () => {
    const config = loadWith([{ match: { source: 'quiet-*' }, local: 'local/{source}' }]);
    for (let i = 0; i < 4; i++) await reading('quiet-1', i);
    await reading('loud', 1);
    const port = new ScriptedPort();
    const f = forwarder(port, config);
    await f.init();
    f.linkUp();
    await f.drained();
    assert.deepEqual(port.sent.map((s) => [s.topic, s.seqs]), [['edgebus/gw/events', [5]]]);
    assert.equal(f.acknowledgedThrough, 5);
    await f.stop();
  });
});
