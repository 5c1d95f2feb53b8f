import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Priority } from '../../src/events/types.js';
import { parseSeqKey, SEP } from '../../src/store/keys.js';
import { evictToFit, type EvictionSummary } from '../../src/store/eviction.js';
import { compactStore, pruneForwarded } from '../../src/store/retention.js';
import { draftOn } from '../helpers/drafts.js';
import { openRig, range, readAll, seqsOf, type Clock, type StoreRig } from '../helpers/store.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BURST = 250;
const MIN = 60_000;

interface Item { source: string; priority: Priority }

/**
 * Appends `items` in bursts received from `at` on, a minute apart (one time mark each). Payloads carry ~800 bytes of random padding: Snappy cannot shrink it, so a few
 * thousand events fill real table files.
 */
async function fill(rig: StoreRig, clock: Clock, at: number, items: readonly Item[]): Promise<void> {
  clock.now = at;
  for (let i = 0; i < items.length; i += BURST) {
    await Promise.all(items.slice(i, i + BURST).map((it, j) =>
      rig.appender.append(draftOn(`sensors/${it.source}/t`, { value: i + j, priority: it.priority, pad: randomBytes(600).toString('base64') }, clock.now))));
    clock.now += MIN;
  }
}

const items = (n: number, priority: (i: number) => Priority = () => 'normal'): Item[] =>
  Array.from({ length: n }, (_, i) => ({ source: i % 3 === 0 ? 'a' : 'b', priority: priority(i) }));

async function urgentSeqs(rig: StoreRig): Promise<number[]> {
  return (await rig.store.urgent.keys().all()).map(parseSeqKey);
}

describe('pruneForwarded', () => {
  test('deletes forwarded events past retention with their index entries; reads still work', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    const every10thHigh = (i: number): Priority => (i % 10 === 0 ? 'high' : 'normal');
    await fill(rig, clock, T0, items(2000, every10thHigh)); //           seqs 1..2000, received day 0
    await fill(rig, clock, T0 + 2 * DAY, items(1000, every10thHigh)); // seqs 2001..3000, day 2
    await fill(rig, clock, T0 + 8 * DAY, items(500, every10thHigh)); //  seqs 3001..3500, day 8
    const before = await readAll(rig.store);
    assert.equal(before.length, 3500);
    const now = T0 + 9 * DAY + MIN / 2; // a 7-day retention reaches just past day 2's first mark
    const retentionMs = 7 * DAY;

    assert.deepEqual(await pruneForwarded(rig.store, { forwardedThrough: 3500, retentionMs, now: T0 + 7 * DAY }), { pruned: 0, throughSeq: null },
      'nothing is older than the retention yet');

    await compactStore(rig.store);
    const bytesBefore = await rig.store.approximateBytes();
    // Upstream has only taken 1..1500: 1501..2000 are old but unforwarded, and stay.
    assert.deepEqual(await pruneForwarded(rig.store, { forwardedThrough: 1500, retentionMs, now }), { pruned: 1500, throughSeq: 1500 });
    assert.deepEqual(seqsOf(await readAll(rig.store)), range(1501, 3500));
    assert.equal(await rig.store.firstSeq(), 1501);
    const bytesAfter = await rig.store.approximateBytes();
    t.diagnostic(`prune of 1500/3500 events: ${bytesBefore} → ${bytesAfter} bytes`);
    assert.ok(bytesAfter < bytesBefore, `bytes drop after compaction: ${bytesBefore} → ${bytesAfter}`);

    // The urgent index keeps exactly the remaining alerts.
    const highs = (from: number) => before.filter((e) => e.seq >= from && e.metadata.priority === 'high').map((e) => e.seq);
    assert.deepEqual(await urgentSeqs(rig), highs(1501));

    // Marks: only the one covering the first remaining seq is left below it.
    const marks = (await rig.store.times.values().all()).map(parseSeqKey);
    assert.ok(marks[0] <= 1501 && marks[1] > 1501, `first marks ${marks.slice(0, 2)}`);

    // Stream segments: none left that only points at pruned seqs; reads by source are intact.
    for (const [key, seqs] of await rig.store.streams.iterator().all()) {
      assert.ok(Math.max(...seqs.split(' ').map(Number)) > 1500, `segment ${key.replace(SEP, '/')} holds only pruned seqs`);
    }
    for (const source of ['a', 'b']) {
      const expected = before.filter((e) => e.source === source && e.seq > 1500).map((e) => e.seq);
      assert.deepEqual(seqsOf(await readAll(rig.store, { source })), expected);
      assert.deepEqual(seqsOf(await readAll(rig.store, { source, fromVersion: 1, limit: 3 })), expected.slice(0, 3));
    }
    assert.deepEqual(seqsOf(await readAll(rig.store, { since: T0 + 2 * DAY })), range(2001, 3500));
    assert.deepEqual(seqsOf(await readAll(rig.store, { fromSeq: 1, limit: 2 })), [1501, 1502]);

    // Everything forwarded: the rest of day 0 goes; day 2 is within the retention.
    // New events appended meanwhile are untouched.
    const [summary] = await Promise.all([
      pruneForwarded(rig.store, { forwardedThrough: 3500, retentionMs, now }),
      fill(rig, clock, now, items(300)),
    ]);
    assert.deepEqual(summary, { pruned: 500, throughSeq: 2000 });
    assert.deepEqual(seqsOf(await readAll(rig.store)), range(2001, 3800));
    assert.deepEqual(await urgentSeqs(rig), highs(2001));
    assert.deepEqual(await pruneForwarded(rig.store, { forwardedThrough: 3800, retentionMs, now }), { pruned: 0, throughSeq: 2000 }, 'a second run has nothing left to do');
    await rig.close();
  });
});

describe('evictToFit', () => {
  // Per 20 events: 1 critical, 1 high, 8 normal, 10 low, interleaved.
  const mixed = (i: number): Priority => (i % 20 === 0 ? 'critical' : i % 20 === 10 ? 'high' : i % 2 === 1 ? 'low' : 'normal');
  const N = 4000;
  const FORWARDED = 400;

  /** A store over its cap: N mixed events, the first FORWARDED of them acknowledged upstream. */
  async function overfull(run: (rig: StoreRig) => Promise<void>): Promise<void> {
    const { dir, cleanup } = tempDir();
    const clock = { now: T0 };
    try {
      const rig = await openRig(dir, clock);
      await fill(rig, clock, T0, items(N, mixed));
      // Settles the files (memtable flushed, no compaction pending): the caps below are
      // fractions of a size that no background work changes under the test.
      await compactStore(rig.store);
      await run(rig);
      await rig.close();
    } finally {
      cleanup();
    }
  }

  /**
   * What the contract promises, checked on the events before and after: forwarded ones go
   * first; within a priority the oldest go; an alert goes only once no lower priority is
   * left in the backlog; the summary and the urgent index agree with the log.
   */
  async function checkEviction(rig: StoreRig, before: Map<number, Priority>, summary: EvictionSummary): Promise<Set<number>> {
    const after = new Set(seqsOf(await readAll(rig.store)));
    const gone = [...before.keys()].filter((s) => !after.has(s));
    const goneForwarded = gone.filter((s) => s <= FORWARDED);
    const goneBacklog = gone.filter((s) => s > FORWARDED);
    assert.equal(summary.forwarded, goneForwarded.length);
    assert.equal(summary.evicted, goneBacklog.length);
    if (goneForwarded.length) {
      assert.equal(summary.forwardedFromSeq, Math.min(...goneForwarded));
      assert.equal(summary.forwardedToSeq, Math.max(...goneForwarded));
    }
    if (goneBacklog.length) {
      assert.equal(goneForwarded.length, FORWARDED, 'forwarded events go before any backlog');
      assert.equal(summary.fromSeq, Math.min(...goneBacklog));
      assert.equal(summary.toSeq, Math.max(...goneBacklog));
    }
    const order: Priority[] = ['low', 'normal', 'high', 'critical'];
    for (const [rank, p] of order.entries()) {
      const backlog = [...before].filter(([s, q]) => q === p && s > FORWARDED).map(([s]) => s);
      const evicted = backlog.filter((s) => !after.has(s));
      assert.equal(summary.byPriority[p], evicted.length, `${p} count`);
      assert.deepEqual(evicted, backlog.slice(0, evicted.length), `${p}: oldest first`);
      if (evicted.length) {
        for (const lower of order.slice(0, rank)) {
          const left = [...before].filter(([s, q]) => q === lower && s > FORWARDED && after.has(s));
          assert.equal(left.length, 0, `a ${p} event went while ${left.length} ${lower} ones remained`);
        }
      }
    }
    const alerts = [...before].filter(([s, p]) => (p === 'high' || p === 'critical') && after.has(s)).map(([s]) => s);
    assert.deepEqual(await urgentSeqs(rig), alerts, 'the urgent index lists exactly the remaining alerts');
    return after;
  }

  const priorities = async (rig: StoreRig) => new Map((await readAll(rig.store)).map((e) => [e.seq, e.metadata.priority] as const));

  test('does nothing under the cap', () => overfull(async (rig) => {
    const bytes = await rig.store.approximateBytes();
    const summary = await evictToFit(rig.store, { maxBytes: bytes * 2, forwardedThrough: FORWARDED });
    const { bytesBefore, ...rest } = summary;
    assert.deepEqual(rest, {
      cause: null, evicted: 0, byPriority: { low: 0, normal: 0, high: 0, critical: 0 }, fromSeq: null, toSeq: null,
      forwarded: 0, forwardedFromSeq: null, forwardedToSeq: null, bytesAfter: bytesBefore, freeBytesBefore: null, freeBytesAfter: null,
    });
    assert.equal((await readAll(rig.store)).length, N);
  }));

  /**
   * A file system of `capacity` bytes that holds only the store: its free space is what
   * the store's files leave, so it comes back exactly as eviction gives bytes back.
   */
  const fileSystem = (rig: StoreRig, capacity: number, minFree: number) => ({
    minFree, freeBytes: async () => capacity - (await rig.store.approximateBytes()),
  });

  test('free space above store.minFree and the store under its cap: nothing goes', () => overfull(async (rig) => {
    const bytes = await rig.store.approximateBytes();
    const disk = fileSystem(rig, bytes * 2, Math.floor(bytes * 0.5));
    const summary = await evictToFit(rig.store, { maxBytes: bytes * 2, forwardedThrough: FORWARDED, disk });
    assert.equal(summary.cause, null);
    assert.equal(summary.freeBytesBefore, bytes * 2 - bytes);
    assert.equal(summary.evicted + summary.forwarded, 0);
    assert.equal((await readAll(rig.store)).length, N);
  }));

  test('free space under store.minFree with the store under its cap: the same order, until free space is back over minFree', (t) => overfull(async (rig) => {
    const before = await priorities(rig);
    const bytes = await rig.store.approximateBytes();
    const minFree = Math.floor(bytes * 0.4);
    const disk = fileSystem(rig, Math.floor(bytes * 1.1), minFree);
    const summary = await evictToFit(rig.store, { maxBytes: bytes * 2, forwardedThrough: FORWARDED, disk });
    t.diagnostic(`eviction for free space: ${JSON.stringify(summary)}`);
    assert.equal(summary.cause, 'disk-free');
    await checkEviction(rig, before, summary);
    assert.equal(summary.forwarded, FORWARDED, 'forwarded events went first');
    assert.ok(summary.byPriority.low > 0);
    assert.deepEqual([summary.byPriority.normal, summary.byPriority.high, summary.byPriority.critical], [0, 0, 0]);
    assert.ok(summary.freeBytesBefore! < minFree);
    assert.equal(summary.freeBytesAfter, await disk.freeBytes(), 'the summary measures free space after the compaction');
    assert.ok(summary.freeBytesAfter! >= minFree, `free space back over minFree: ${summary.freeBytesAfter} >= ${minFree}`);
  }));

  test('both bounds crossed: the one that needs more to go sets the target and is the cause', () => overfull(async (rig) => {
    const bytes = await rig.store.approximateBytes();
    // The cap wants 10 % gone (to 0.95 × 0.9); the disk about a third.
    const diskWins = await evictToFit(rig.store, {
      maxBytes: Math.floor(bytes * 0.95), forwardedThrough: FORWARDED, disk: fileSystem(rig, Math.floor(bytes * 1.1), Math.floor(bytes * 0.4)),
    });
    assert.equal(diskWins.cause, 'disk-free');
    assert.ok(diskWins.bytesAfter < bytes * 0.8, `more than the cap asked for went: ${diskWins.bytesAfter} of ${bytes}`);
    // Now the cap wants half of what is left gone; the disk only a little.
    const left = await rig.store.approximateBytes();
    const capWins = await evictToFit(rig.store, {
      maxBytes: Math.floor(left * 0.5), forwardedThrough: FORWARDED, disk: fileSystem(rig, left + 1_000, 2_000),
    });
    assert.equal(capWins.cause, 'max-bytes');
    assert.ok(capWins.bytesAfter <= left * 0.5, `under the cap: ${capWins.bytesAfter} <= ${left * 0.5}`);
  }));

  test('what goes is announced before anything is deleted, and an announcement that fails deletes nothing', () => overfull(async (rig) => {
    const before = await priorities(rig);
    const bytes = await rig.store.approximateBytes();
    const maxBytes = Math.floor(bytes * 0.7);
    await assert.rejects(evictToFit(rig.store, {
      maxBytes, forwardedThrough: FORWARDED, announce: async () => {
        throw new Error('the notice could not be stored');
      },
    }), /the notice could not be stored/);
    assert.equal((await readAll(rig.store)).length, N, 'nothing deleted without its notice');
    let announced: EvictionSummary | null = null;
    let presentWhenAnnounced = 0;
    const summary = await evictToFit(rig.store, {
      maxBytes, forwardedThrough: FORWARDED, announce: async (plan) => {
        announced = plan;
        presentWhenAnnounced = (await readAll(rig.store)).length;
      },
    });
    assert.equal(presentWhenAnnounced, N, 'announced while every event was still there');
    const { bytesAfter, freeBytesAfter, ...plan } = summary;
    const { bytesAfter: _b, freeBytesAfter: _f, ...told } = announced!;
    assert.deepEqual(told, plan, 'the announcement names exactly what went');
    assert.ok(bytesAfter < summary.bytesBefore && freeBytesAfter === null);
    await checkEviction(rig, before, summary);
  }));

  test('a free-space deficit larger than the store: all of it goes', () => overfull(async (rig) => {
    const bytes = await rig.store.approximateBytes();
    const summary = await evictToFit(rig.store, { maxBytes: bytes * 2, forwardedThrough: FORWARDED, disk: { minFree: bytes * 4, freeBytes: async () => 0 } });
    assert.equal(summary.cause, 'disk-free');
    assert.equal(summary.forwarded + summary.evicted, N, 'every event went');
    assert.deepEqual((await readAll(rig.store)).length, 0);
  }));

  test('over the cap: forwarded first, then the oldest low ones; alerts untouched; bytes drop', (t) => overfull(async (rig) => {
    const before = await priorities(rig);
    const bytes = await rig.store.approximateBytes();
    const maxBytes = Math.floor(bytes * 0.7);
    const summary = await evictToFit(rig.store, { maxBytes, forwardedThrough: FORWARDED });
    t.diagnostic(`eviction to 70%: ${JSON.stringify(summary)}`);
    await checkEviction(rig, before, summary);
    assert.equal(summary.forwarded, FORWARDED);
    assert.ok(summary.byPriority.low > 0);
    assert.deepEqual([summary.byPriority.normal, summary.byPriority.high, summary.byPriority.critical], [0, 0, 0]);
    const measured = await rig.store.approximateBytes();
    assert.ok(measured < bytes && summary.bytesAfter < bytes, `bytes drop after compaction: ${bytes} → ${measured}`);
    assert.ok(summary.bytesAfter <= maxBytes, `under the cap: ${summary.bytesAfter} <= ${maxBytes}`);
    // The holes are invisible to readers and to the appender.
    const left = await readAll(rig.store);
    assert.deepEqual(seqsOf(await readAll(rig.store, { source: 'a' })), seqsOf(left.filter((e) => e.source === 'a')));
    await rig.appender.append(draftOn('sensors/a/t', '1', T0));
    assert.equal(await rig.store.lastSeq(), N + 1);
  }));

  test('a cap below the telemetry: every low and normal event goes before the oldest alerts', (t) => overfull(async (rig) => {
    const before = await priorities(rig);
    const bytes = await rig.store.approximateBytes();
    const summary = await evictToFit(rig.store, { maxBytes: Math.floor(bytes * 0.06), forwardedThrough: FORWARDED });
    t.diagnostic(`eviction to 6%: ${JSON.stringify(summary)}`);
    const after = await checkEviction(rig, before, summary);
    assert.ok(summary.byPriority.high > 0, 'the cap reaches into the alerts');
    assert.ok([...after].every((s) => before.get(s) === 'high' || before.get(s) === 'critical'), 'only alerts remain');
    assert.ok(after.size > 0, 'not everything: the newest alerts remain');
    assert.ok(summary.bytesAfter < bytes);
  }));
});
