// The free-space watcher on a scripted file system: when it calls for eviction, how often,
// and what it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskWatch, type DiskSpace, type FsFigures } from '../../src/jobs/disk-watch.js';
import type { FreeSpace } from '../../src/config/units.js';
import { createLogger } from '../../src/util/log.js';
import { waitFor } from '../helpers/wait.js';

const BLOCK = 4096;
const MB = 1_000_000;

/** A file system of `totalBytes` whose free space the test sets. */
function scriptedFs(totalBytes: number) {
  const fs = { free: totalBytes, reads: 0 };
  const statfs = async (): Promise<FsFigures> => {
    fs.reads++;
    return { blocks: Math.floor(totalBytes / BLOCK), bsize: BLOCK, bavail: Math.floor(fs.free / BLOCK) };
  };
  return { fs, statfs };
}

const quiet = createLogger({ level: 'silent', format: 'json' });

function watch(minFree: FreeSpace, statfs: () => Promise<FsFigures>, onLow: (s: DiskSpace) => Promise<boolean>): DiskWatch {
  return new DiskWatch({ dir: '/data', minFree, log: quiet, onLow, statfs, intervalMs: 5 });
}

test('under minFree it calls for eviction on each look, one call at a time; over it, not at all', async () => {
  const { fs, statfs } = scriptedFs(100 * MB);
  const calls: DiskSpace[] = [];
  let pending = 0;
  let most = 0;
  let finish!: () => void;
  const w = watch({ bytes: 10 * MB }, statfs, async (space) => {
    calls.push(space);
    most = Math.max(most, ++pending);
    await new Promise<void>((r) => (finish = r));
    pending--;
    return true;
  });
  try {
    const first = await w.start();
    assert.deepEqual({ low: first.low, minFree: first.minFree }, { low: false, minFree: 10 * MB });
    const readsBefore = fs.reads;
    await waitFor(() => fs.reads >= readsBefore + 3, { message: 'a few looks' });
    assert.equal(calls.length, 0, 'no eviction with space to spare');

    fs.free = 8 * MB;
    await waitFor(() => calls.length === 1, { message: 'the call for eviction' });
    assert.equal(calls[0].low, true);
    assert.ok(calls[0].freeBytes <= 8 * MB && calls[0].freeBytes > 7.99 * MB);
    // An absence: 20 intervals' worth of deadline in which no look may happen.
    const reads = fs.reads;
    await assert.rejects(waitFor(() => fs.reads > reads, { timeout: 100 }), /timed out/, 'no look while the call is pending');
    assert.equal(calls.length, 1, 'never a second call while one is pending');
    finish();
    await waitFor(() => calls.length === 2, { message: 'called again while still low' });
    fs.free = 50 * MB;
    finish();
    const after = fs.reads;
    await waitFor(() => fs.reads >= after + 3, { message: 'looks once space is back' });
    assert.equal(calls.length, 2, 'no call once free space is over minFree');
    assert.equal(most, 1);
    assert.equal(w.last?.low, false);
  } finally {
    w.stop();
  }
});

test('when nothing could be evicted it waits for free space to drop further before calling again', async () => {
  const { fs, statfs } = scriptedFs(100 * MB);
  let calls = 0;
  const w = watch({ bytes: 10 * MB }, statfs, async () => {
    calls++;
    return false;
  });
  try {
    fs.free = 5 * MB;
    await w.start();
    await waitFor(() => calls === 1, { message: 'the first call' });
    const reads = fs.reads;
    await waitFor(() => fs.reads >= reads + 5, { message: 'several more looks' });
    assert.equal(calls, 1, 'no call while free space stays where the fruitless one left it');
    fs.free = 4 * MB;
    await waitFor(() => calls === 2, { message: 'a call once free space dropped again' });
  } finally {
    w.stop();
  }
});

test('a percentage is of the file system\'s size; 0 watches nothing', async () => {
  const { fs, statfs } = scriptedFs(200 * MB);
  const pct = watch({ percent: 5 }, statfs, async () => true);
  const off = watch({ bytes: 0 }, statfs, async () => assert.fail('minFree 0 never evicts'));
  try {
    fs.free = 9 * MB;
    const space = await pct.start();
    assert.equal(space.minFree, Math.round((Math.floor(200 * MB / BLOCK) * BLOCK) * 0.05));
    assert.equal(space.low, true);
    assert.equal(pct.bound()?.minFree, space.minFree);
    assert.equal(await pct.bound()!.freeBytes(), Math.floor(9 * MB / BLOCK) * BLOCK, 'the bound measures free space when asked');
    fs.free = 0;
    const none = await off.start();
    assert.deepEqual({ low: none.low, minFree: none.minFree, freeBytes: none.freeBytes }, { low: false, minFree: 0, freeBytes: 0 });
    assert.equal(off.bound(), null);
    const reads = fs.reads;
    await waitFor(() => fs.reads >= reads + 3, { message: 'looks go on (for status and metrics)' });
  } finally {
    pct.stop();
    off.stop();
  }
});
