import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UnknownEventIdError } from '../../src/store/log-reader.js';
import { pruneForwarded } from '../../src/store/retention.js';
import { draftOn, seqDraft } from '../helpers/drafts.js';
import { DEDUP_WINDOW, idsOf, openRig, readAll, REORDER_WINDOW, seqsOf, type StoreRig } from '../helpers/store.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const reading = (id: string, value: number, at: number) => draftOn('sensors/a/t', { id, value }, at);
const dupIds = (rig: StoreRig) => rig.seen.duplicates.map((d) => d.id);
const dupSources = (rig: StoreRig) => rig.seen.duplicates.map((d) => d.source);

describe('duplicate ids', () => {
  test('an explicit id is stored once, in one group and after a restart', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    await Promise.all([reading('r-1', 1, T0), reading('r-1', 2, T0), reading('r-2', 3, T0)].map((d) => rig.appender.append(d)));
    assert.deepEqual(dupIds(rig), ['r-1']);
    await rig.close();

    clock.now = T0 + 60_000;
    rig = await openRig(dir, clock);
    await rig.appender.append(reading('r-1', 4, clock.now));
    await rig.appender.append(reading('r-3', 5, clock.now));
    assert.deepEqual(dupIds(rig), ['r-1'], 'the id index outlives the process');
    const events = await readAll(rig.store);
    assert.deepEqual(idsOf(events), ['r-1', 'r-2', 'r-3']);
    assert.deepEqual(events.map((e) => e.payload.value), [1, 3, 5], 'the first one wins');
    assert.deepEqual(seqsOf(events), [1, 2, 3]);
    await rig.close();
  });

  test('a device seq already appended is a duplicate after a restart too', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    for (const n of [1, 2, 3]) await rig.appender.append(seqDraft('s', n, clock.now));
    await rig.close();
    clock.now += 1_000;
    rig = await openRig(dir, clock);
    await rig.appender.append(seqDraft('s', 2, clock.now));
    await rig.appender.append(seqDraft('s', 4, clock.now));
    assert.deepEqual(dupSources(rig), ['s']);
    assert.deepEqual(idsOf(await readAll(rig.store)), ['s:0:1', 's:0:2', 's:0:3', 's:0:4']);
    await rig.close();
  });

  test('an id is a duplicate for the dedup window; its entry lasts as long as its event, so --from-id finds it', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    await rig.appender.append(reading('old', 1, clock.now));
    await rig.appender.append(reading('reused', 2, clock.now));
    clock.now = T0 + DEDUP_WINDOW / 2;
    await rig.appender.append(reading('young', 3, clock.now));

    clock.now = T0 + DEDUP_WINDOW;
    await rig.appender.append(reading('old', 4, clock.now));
    assert.deepEqual(dupIds(rig), ['old'], 'still inside the window');

    clock.now = T0 + DEDUP_WINDOW + 1;
    // Past the window: accepted again, and its entry now points at the new event.
    await rig.appender.append(reading('reused', 5, clock.now));
    assert.equal(await rig.appender.idIndex.prune(1), 0, 'every event is still in the log');
    assert.deepEqual((await readAll(rig.store, { fromId: 'old' })).map((e) => e.payload.value), [1, 2, 3, 5], 'an id past its dedup window still finds its event');
    assert.deepEqual((await readAll(rig.store, { fromId: 'reused' })).map((e) => e.payload.value), [5], 'a reused id finds its newest event');

    // The first two events leave the log (retention): the entry of "old" goes with them,
    // the entry of "reused" points at seq 4 and stays.
    await pruneForwarded(rig.store, { forwardedThrough: 2, retentionMs: 1, now: clock.now + 10 });
    assert.equal(await rig.store.firstSeq(), 3);
    assert.equal(await rig.appender.idIndex.prune(3), 1, 'only the entry of "old" is deleted');
    await assert.rejects(readAll(rig.store, { fromId: 'old' }), UnknownEventIdError, 'the id entry is gone with its event');
    await readAll(rig.store, { fromId: 'young' });
    await readAll(rig.store, { fromId: 'reused' });

    await rig.appender.append(reading('old', 6, clock.now));
    await rig.appender.append(reading('young', 7, clock.now));
    await rig.appender.append(reading('reused', 8, clock.now));
    assert.deepEqual(dupIds(rig), ['old', 'young', 'reused']);
    const events = await readAll(rig.store);
    assert.deepEqual(events.map((e) => [e.id, e.payload.value]), [['young', 3], ['reused', 5], ['old', 6]]);
    await rig.close();
  });
});

describe('reorder buffer on disk', () => {
  test('a staged event survives a restart and is drained when its predecessor arrives', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    await rig.appender.append(seqDraft('s', 1, clock.now));
    await rig.appender.append(seqDraft('s', 3, clock.now));
    assert.equal(rig.appender.stagedCount(), 1);
    assert.equal(rig.appender.seq, 1, 'a staged event has no log seq yet');
    await rig.close();

    clock.now += 500;
    rig = await openRig(dir, clock);
    assert.equal(rig.appender.stagedCount(), 1);
    await rig.appender.append(seqDraft('s', 2, clock.now));
    const events = await readAll(rig.store);
    assert.deepEqual(idsOf(events), ['s:0:1', 's:0:2', 's:0:3']);
    assert.deepEqual(seqsOf(events), [1, 2, 3]);
    assert.equal(rig.appender.stagedCount(), 0);
    await rig.close();

    rig = await openRig(dir, clock);
    assert.equal(rig.appender.stagedCount(), 0, 'an unstaged event is gone from the buffer on disk');
    await rig.close();
  });

  test('after a restart a staged event is released once the window has passed, with its gap', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    await rig.appender.append(seqDraft('s', 1, clock.now));
    await rig.appender.append(seqDraft('s', 4, clock.now));
    await rig.close();

    clock.now += 1_000;
    rig = await openRig(dir, clock);
    clock.now += REORDER_WINDOW;
    // Any commit re-arms the release timer against the (injected) clock.
    await rig.appender.append(draftOn('sensors/other/t', '7', clock.now));
    const current = rig;
    const events = await waitFor(async () => {
      const all = await readAll(current.store);
      return all.length === 4 && all;
    }, { message: 'the staged event to be released' });
    assert.deepEqual(events.map((e) => e.type), ['DeviceData', 'DeviceData', 'SystemEvent', 'DeviceData']);
    assert.equal(events[1].source, 'other');
    assert.equal(events[2].source, 'gw');
    assert.deepEqual(events[2].payload, { kind: 'sequence-gap', source: 's', epoch: 0, missing: [2, 3] });
    assert.equal(events[3].id, 's:0:4');
    assert.deepEqual(seqsOf(events), [1, 2, 3, 4]);
    await rig.close();

    // The released gap is remembered: a late event inside it is still appended.
    rig = await openRig(dir, clock);
    await rig.appender.append(seqDraft('s', 3, clock.now));
    await rig.appender.append(seqDraft('s', 3, clock.now));
    assert.deepEqual(idsOf(await readAll(rig.store, { fromSeq: 5 })), ['s:0:3']);
    assert.deepEqual(dupSources(rig), ['s']);
    await rig.close();
  });

  test('an epoch reset is recorded and new readings are not mistaken for duplicates', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    const rig = await openRig(dir, clock);
    for (const n of [1, 2, 3, 1, 2]) await rig.appender.append(seqDraft('s', n, clock.now));
    const events = await readAll(rig.store);
    assert.deepEqual(idsOf(events).filter((id) => id.startsWith('s:')), ['s:0:1', 's:0:2', 's:0:3', 's:1:1', 's:1:2']);
    const reset = events.find((e) => e.type === 'SystemEvent');
    assert.deepEqual(reset?.payload, { kind: 'sequence-reset', source: 's', epoch: 1, previousEpoch: 0, lastSeq: 3, reason: 'counter-restarted' });
    assert.equal(reset?.seq, 4, 'the reset is logged before the first reading of the new epoch');
    assert.deepEqual(dupSources(rig), []);
    await rig.close();
  });

  test('close() while a write is in flight leaves no release timer behind', async () => {
    const { dir, cleanup } = tempDir();
    const clock = { now: T0 };
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const rig = await openRig(dir, clock, { reorderWindow: 200 });
    const baseline = timers();
    try {
      void rig.appender.append(seqDraft('s', 1, clock.now));
      void rig.appender.append(seqDraft('s', 3, clock.now));
      await rig.appender.close();
      assert.equal(rig.appender.stagedCount(), 1);
      assert.equal(timers(), baseline, 'a timer armed after close() would write to a closed store');
    } finally {
      // If the timer was left armed, let it fire against the still-open store before closing it.
      if (timers() > baseline) {
        clock.now += 1_000;
        await waitFor(() => rig.appender.stagedCount() === 0, { timeout: 5_000, message: 'the stray release' }).catch(() => {});
      }
      await rig.store.close();
      cleanup();
    }
  });
});

describe('committed seq', () => {
  test('lags the seq handed out until the group holding it is on disk, so readers never look past the log', async () => {
    const { dir, cleanup } = tempDir();
    const clock = { now: Date.now() };
    const rig = await openRig(dir, clock);
    try {
      const first = rig.appender.append(draftOn('sensors/c/t', { value: 1 }, clock.now));
      assert.equal(rig.appender.seq, 1, 'the seq is handed out at once');
      assert.equal(rig.appender.committedSeq, 0, 'but not readable yet');
      assert.equal((await readAll(rig.store)).length, 0);
      await first;
      assert.equal(rig.appender.committedSeq, 1);
      assert.deepEqual(seqsOf(await readAll(rig.store)), [1]);
    } finally {
      await rig.close();
      cleanup();
    }
  });
});
