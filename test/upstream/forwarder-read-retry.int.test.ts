// The forwarder after a read of the log failed (the store was closed for a reopen after a
// failed write, pipeline/appender.ts): on a site that has gone quiet nothing is appended to
// wake it, yet what is stored must still go upstream once the store is back.
import assert from 'node:assert/strict';
import { decode } from 'cbor-x';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { Forwarder, type PublishOutcome, type UpstreamPort } from '../../src/upstream/forwarder.js';
import { draftOn } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig } from '../helpers/store.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

function upstreamConfig() {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgebus.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw', upstream: { url: 'mqtt://127.0.0.1:1', batch: { maxEvents: 10, linger: '0ms' } } }));
    return loadConfig({ file, env: {} }).config.upstream!;
  } finally {
    tmp.cleanup();
  }
}

/** An upstream that acknowledges every batch and keeps what it got. */
class AcceptingPort implements UpstreamPort {
  connected = true;
  maxPacketSize: number | null = null;
  readonly sent: EdgeEvent[] = [];

  publish(_topic: string, payload: Buffer): Promise<PublishOutcome> {
    this.sent.push(...(decode(payload) as { events: EdgeEvent[] }).events);
    return Promise.resolve({ ok: true });
  }
}

it('reads the log again by itself after a failed read, with nothing appended to wake it', async (t) => {
  const now = Date.now();
  const rig = await openRig(tempDirFor(t), { now });
  for (let i = 0; i < 5; i++) await rig.appender.append(draftOn('sensors/d/t', { value: i }, now));
  const { log, lines } = memoryLogger('error');
  const port = new AcceptingPort();
  const f = new Forwarder({ store: rig.store, bus: rig.bus, link: port, config: upstreamConfig(), gatewayId: 'gw', lastSeq: () => rig.appender.committedSeq, log, now: () => now });
  await f.init();
  // The forwarder saves its cursor as it stops: before the store closes.
  t.after(async () => {
    await f.stop();
    await rig.close();
  });

  // The store is closed, as between a failed write and its reopen: the link comes up and the read fails.
  await rig.store.db.close();
  f.linkUp();
  await waitFor(() => lines.length > 0, { message: 'the failed read logged' });
  assert.match(lines.join('\n'), /reading the log failed/);
  assert.equal(port.sent.length, 0, 'nothing sent while the store is closed');

  await rig.store.reopen();
  await waitFor(() => port.sent.length >= 5, { timeout: 10_000, message: 'the stored events upstream after the reopen' });
  assert.deepEqual(port.sent.map((e) => e.seq), [1, 2, 3, 4, 5]);
  await waitFor(() => f.acknowledgedThrough === 5, { message: 'the cursor over them' });
});
