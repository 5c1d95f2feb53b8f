// The drain across a reopen of the store (the appender's recovery from a failed write,
// pipeline/appender.ts): the reopen closes the reader's iterator under it, so a read may
// fail part-way, after it took events from the reader. Those events must come again in
// the next batch: a batch covers its whole range, and acknowledging one that left them out
// would move the upstream cursor over events upstream never got.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { BatchUpstreamConfig } from '../../src/config/types.js';
import { BatchPacker } from '../../src/upstream/batch-packing.js';
import { DrainLane } from '../../src/upstream/drain-lane.js';
import type { ForwardBatch } from '../../src/upstream/forward-batch.js';
import { seqDraft } from '../helpers/drafts.js';
import { openRig, range } from '../helpers/store.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';

const NOW = 1_700_000_000_000;
const MAX_EVENTS = 4;

function upstreamConfig(): BatchUpstreamConfig {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgebus.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw', upstream: { url: 'mqtt://127.0.0.1:1', batch: { maxEvents: MAX_EVENTS, linger: '0ms' } } }));
    const up = loadConfig({ file, env: {} }).config.upstream!;
    assert.ok(up.format !== 'sparkplug');
    return up as BatchUpstreamConfig;
  } finally {
    tmp.cleanup();
  }
}

const seqsOf = (batch: ForwardBatch): number[] => batch.items.map((i) => i.head.seq);

it('a read broken by a reopen of the store leaves the drain where it was: the next batch carries what it had read', async (t) => {
  const rig = await openRig(tempDirFor(t), { now: NOW });
  t.after(() => rig.close());
  await Promise.all(range(1, 6).map((i) => rig.appender.append(seqDraft('dev', i, NOW + i))));
  const last = rig.appender.committedSeq;
  assert.equal(last, 6);
  const config = upstreamConfig();
  const drain = new DrainLane({
    store: rig.store, maxEvents: MAX_EVENTS, linger: 0, now: () => NOW, wake: () => {},
    packer: () => new BatchPacker(config, 'gw', null, NOW, () => NOW),
    skips: () => false,
    settleTooLarge: async () => {},
  });
  t.after(() => drain.stop());
  drain.rewind(0);

  const first = await drain.read(last, 0);
  assert.deepEqual(seqsOf(first), [1, 2, 3, 4]);
  drain.take(first);
  // The reader has already asked for the next chunk; the reopen closes its iterator behind it.
  await rig.store.reopen();

  // A read may fail while the iterator it had is gone (the forwarder logs it and reads again).
  let next: ForwardBatch | null = null;
  for (let attempt = 1; next === null; attempt++) {
    try {
      next = await drain.read(last, 0);
    } catch (err) {
      assert.ok(attempt < 3, `reads keep failing after the reopen: ${String(err)}`);
    }
  }
  assert.deepEqual([next.from, next.to], [5, 6]);
  assert.deepEqual(seqsOf(next), [5, 6], 'the batch covering 5..6 must carry them');
});
