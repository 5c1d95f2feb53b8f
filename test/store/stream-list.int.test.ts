// The streams listing over a real store: what the sequencer recorded (epoch, gaps, resets,
// last seen) and the ends of each stream as the log still holds them after retention and
// eviction; and the counters filled in for a store whose source states lack them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeValue, encodeValue } from '../../src/events/codec.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { isoTime } from '../../src/events/iso-time.js';
import { readClockLog } from '../../src/store/clock-log.js';
import { seqKey } from '../../src/store/keys.js';
import { deleteIndexesThrough, deleteLogThrough } from '../../src/store/log-deletes.js';
import type { SourceState } from '../../src/store/pipeline-state.js';
import { backfillStreamCounters, countSequenceNotices } from '../../src/store/stream-counters.js';
import { listStreams, type StreamSummary } from '../../src/store/stream-list.js';
import { draftOn, seqDraft } from '../helpers/drafts.js';
import { openRig, readAll, type Clock, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const WINDOW = 50;

async function rows(rig: StoreRig): Promise<Map<string, StreamSummary>> {
  const list = await listStreams(rig.store, (await readClockLog(rig.store)).timeline);
  return new Map(list.map((r) => [r.source, r]));
}

/** Puts source states back as a release before the counters wrote them. */
async function dropCounters(rig: StoreRig): Promise<void> {
  for await (const [source, bytes] of rig.store.sources.iterator()) {
    const { gapsRecorded: _g, resetsRecorded: _r, ...old } = decodeValue<SourceState>(bytes);
    await rig.store.sources.put(source, encodeValue(old));
  }
}

describe('the streams listing', () => {
  const tmp = tempDir();
  const clock: Clock = { now: T0 };
  let rig: StoreRig;
  let log: EdgeEvent[];
  const seqsOf = (source: string) => log.filter((e) => e.source === source).map((e) => e.seq);

  before(async () => {
    rig = await openRig(tmp.dir, clock, { reorderWindow: WINDOW });
    for (let i = 0; i < 3; i++) await rig.appender.append(draftOn('sensors/e/t', { value: i }, clock.now));
    clock.now += 1_000;
    await rig.appender.append(seqDraft('d', 1, clock.now));
    await rig.appender.append(seqDraft('d', 2, clock.now));
    // 3 and 4 are lost: 5 waits its reorder window on the rig's clock, then the gap is recorded.
    const staged = rig.appender.append(seqDraft('d', 5, clock.now));
    await rig.appender.flushed();
    clock.now += WINDOW + 1;
    await staged;
    await waitFor(() => rig.seen.appended.some((e) => e.payload.kind === 'sequence-gap'), { message: 'the gap recorded' });
    clock.now += 1_000;
    // The device restarted: its counter begins again.
    await rig.appender.append(seqDraft('d', 1, clock.now));
    await rig.appender.append(seqDraft('d', 2, clock.now + 5));
    log = await readAll(rig.store);
  });
  after(async () => {
    await rig.close();
    tmp.cleanup();
  });

  test('one row per source: epoch, first/last seq and version, count, last seen, gaps, resets', async () => {
    const r = await rows(rig);
    assert.deepEqual([...r.keys()], ['d', 'e', 'gw']);
    const d = seqsOf('d');
    assert.deepEqual(r.get('d'), {
      source: 'd', epoch: 1, firstSeq: d[0], lastSeq: d[4], firstVersion: 1, lastVersion: 5, count: 5,
      lastSeen: isoTime(clock.now + 5), gaps: 1, resets: 1,
    });
    const e = seqsOf('e');
    assert.deepEqual(r.get('e'), { source: 'e', epoch: 0, firstSeq: e[0], lastSeq: e[2], firstVersion: 1, lastVersion: 3, count: 3, lastSeen: isoTime(T0), gaps: 0, resets: 0 });
    // The notices are the gateway's events; they count against the device they are about.
    assert.deepEqual([r.get('gw')!.count, r.get('gw')!.gaps, r.get('gw')!.resets], [2, 0, 0]);
  });

  test('counters missing (an older release\'s states) read as 0; the backfill counts the log\'s notices', async () => {
    assert.deepEqual([...(await countSequenceNotices(rig.store))], [['d', { gaps: 1, resets: 1 }]]);
    await dropCounters(rig);
    assert.deepEqual([(await rows(rig)).get('d')!.gaps, (await rows(rig)).get('d')!.resets], [0, 0]);
    const batch = rig.store.batch();
    assert.equal(await backfillStreamCounters(rig.store, batch), 3, 'every state lacking them');
    await batch.write();
    const r = await rows(rig);
    assert.deepEqual([...r.values()].map((s) => [s.source, s.gaps, s.resets]), [['d', 1, 1], ['e', 0, 0], ['gw', 0, 0]]);
    const again = rig.store.batch();
    assert.equal(await backfillStreamCounters(rig.store, again), 0, 'nothing left to fill');
    await again.close();
  });

  test('a counter is never lowered by the backfill (retention may have pruned what it counted)', async () => {
    const st = decodeValue<SourceState>((await rig.store.sources.get('d'))!);
    await rig.store.sources.put('d', encodeValue({ ...st, gapsRecorded: 4, resetsRecorded: 0 }));
    const batch = rig.store.batch();
    assert.equal(await backfillStreamCounters(rig.store, batch), 1);
    await batch.write();
    assert.deepEqual([(await rows(rig)).get('d')!.gaps, (await rows(rig)).get('d')!.resets], [4, 1]);
  });

  test('after retention and eviction, first/last seq and count follow what is held; a source with nothing left shows 0', async () => {
    const d = seqsOf('d');
    // Retention: every `e` event and the first of `d`.
    await deleteLogThrough(rig.store, d[0], Infinity);
    await deleteIndexesThrough(rig.store, d[0]);
    // Eviction of the backlog leaves holes: here `d`'s newest event.
    await rig.store.log.del(seqKey(d[4]));
    const r = await rows(rig);
    assert.deepEqual(r.get('e'), { source: 'e', epoch: 0, firstSeq: null, lastSeq: null, firstVersion: null, lastVersion: null, count: 0, lastSeen: isoTime(T0), gaps: 0, resets: 0 });
    const row = r.get('d')!;
    assert.deepEqual([row.firstSeq, row.firstVersion, row.lastSeq, row.lastVersion, row.count, row.epoch], [d[1], 2, d[3], 4, 3, 1]);
  });
});
