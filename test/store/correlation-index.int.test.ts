// The correlation index through a real store: chains appended across many commit groups
// read back whole and in log order (root included, whatever kind of id it has), combined
// with the other filters; retention and eviction take the index entries with their events.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { EdgeEvent, Priority } from '../../src/events/types.js';
import { evictToFit } from '../../src/store/eviction.js';
import { SEP, parseSeqKey, seqKey } from '../../src/store/keys.js';
import { compactStore, pruneForwarded } from '../../src/store/retention.js';
import { draftOn } from '../helpers/drafts.js';
import { openRig, readAll, seqsOf, type Clock, type StoreRig } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** Appends one reading in a commit group of its own; returns the stored event. */
async function reading(rig: StoreRig, clock: Clock, device: string, body: Record<string, unknown>): Promise<EdgeEvent> {
  const draft = draftOn(`sensors/${device}/temperature`, { value: 1, ...body }, clock.now);
  assert.ok(await rig.appender.append(draft));
  clock.now += 1_000;
  return rig.seen.appended[rig.seen.appended.length - 1];
}

/**
 * The index holds exactly one entry per stored event with a correlation id, and its way
 * back: nothing for an event that is gone, nothing missing for one that is there.
 */
async function assertIndexMatchesLog(rig: StoreRig): Promise<void> {
  const stored = (await readAll(rig.store)).filter((e) => e.metadata.correlationId);
  const chainKeys = await rig.store.correlations.keys().all();
  assert.deepEqual(chainKeys.sort(), stored.map((e) => `${e.metadata.correlationId}${SEP}${seqKey(e.seq)}`).sort(), 'corr entries');
  const back = await rig.store.correlatedSeqs.iterator().all();
  assert.deepEqual(back.map(([k, v]) => [parseSeqKey(k), v]), stored.map((e) => [e.seq, e.metadata.correlationId]), 'corrseqs entries');
}

describe('the correlation index', () => {
  test('reads each chain back in log order, root first, across commit groups and with the other filters', async (t) => {
    const clock = { now: T0 };
    const dir = tempDirFor(t);
    const rig = await openRig(dir, clock);
    // A chain whose root has a publisher id and no correlation id of its own.
    const root = await reading(rig, clock, 'dev-a', { id: 'root-1' });
    const noise1 = await reading(rig, clock, 'dev-b', {});
    const a1 = await reading(rig, clock, 'dev-a', { correlationId: 'root-1', causationId: 'root-1' });
    // A chain named by a tag, not by an event; an id "corr-A\0x" sorts inside its bounds.
    const c1 = await reading(rig, clock, 'dev-b', { correlationId: 'corr-A' });
    const odd = await reading(rig, clock, 'dev-b', { correlationId: 'corr-A\u0000x' });
    // Many groups in between, half of them in one concurrent burst (a group of several).
    await Promise.all(Array.from({ length: 40 }, (_, i) => rig.appender.append(draftOn('sensors/dev-c/t', { value: i }, clock.now))));
    const a2 = await reading(rig, clock, 'dev-c', { correlationId: 'root-1', causationId: a1.id, priority: 'high' });
    const c2 = await reading(rig, clock, 'dev-a', { correlationId: 'corr-A', causationId: c1.id });
    // Roots the gateway made: a device `seq` id and a ULID, found through the stream and the time marks.
    const seqRoot = await reading(rig, clock, 'dev-s', { seq: 1 });
    const ulidRoot = await reading(rig, clock, 'dev-u', {});
    const s1 = await reading(rig, clock, 'dev-a', { correlationId: seqRoot.id });
    const u1 = await reading(rig, clock, 'dev-a', { correlationId: ulidRoot.id });
    const empty = await reading(rig, clock, 'dev-a', { correlationId: '' });
    const a3 = await reading(rig, clock, 'dev-b', { correlationId: 'root-1', causationId: a2.id });
    assert.equal(seqRoot.id, 'dev-s:0:1');
    assert.match(ulidRoot.id, /^[0-9A-Z]{26}$/);

    const chain = async (correlation: string, more = {}) => seqsOf(await readAll(rig.store, { correlation, ...more }));
    assert.deepEqual(await chain('root-1'), [root.seq, a1.seq, a2.seq, a3.seq]);
    assert.deepEqual(await chain('corr-A'), [c1.seq, c2.seq]);
    assert.deepEqual(await chain('corr-A\u0000x'), [odd.seq]);
    assert.deepEqual(await chain(seqRoot.id), [seqRoot.seq, s1.seq]);
    assert.deepEqual(await chain(ulidRoot.id), [ulidRoot.seq, u1.seq]);
    assert.deepEqual(await chain(noise1.id), [noise1.seq], 'an event that caused nothing is a chain of one');
    assert.deepEqual(await chain('nothing'), []);
    // Combined with the other filters.
    assert.deepEqual(await chain('root-1', { source: 'dev-a' }), [root.seq, a1.seq]);
    assert.deepEqual(await chain('root-1', { fromSeq: a1.seq + 1 }), [a2.seq, a3.seq]);
    assert.deepEqual(await chain('root-1', { fromId: a1.id }), [a1.seq, a2.seq, a3.seq]);
    assert.deepEqual(await chain('root-1', { toSeq: a2.seq }), [root.seq, a1.seq, a2.seq]);
    assert.deepEqual(await chain('root-1', { limit: 2 }), [root.seq, a1.seq]);
    assert.deepEqual(await chain('root-1', { type: 'DeviceData', since: T0 + 1_000 }), [a1.seq, a2.seq, a3.seq]);
    assert.deepEqual(await chain('root-1', { type: 'Alert' }), []);
    // What the chain's events say of themselves.
    const events = await readAll(rig.store, { correlation: 'root-1' });
    assert.deepEqual(events.map((e) => [e.metadata.correlationId, e.metadata.causationId]),
      [[null, null], ['root-1', 'root-1'], ['root-1', a1.id], ['root-1', a2.id]]);
    assert.equal(empty.metadata.correlationId, '');
    await assertIndexMatchesLog(rig);

    // A restart reads the same chains (the index is durable with the events).
    await rig.close();
    const again = await openRig(dir, clock);
    assert.deepEqual(seqsOf(await readAll(again.store, { correlation: 'root-1' })), [root.seq, a1.seq, a2.seq, a3.seq]);
    await again.close();
  });

  test('retention and eviction delete the entries of the events they delete', async (t) => {
    const clock = { now: T0 };
    const rig = await openRig(tempDirFor(t), clock);
    const priorities: Priority[] = ['low', 'normal', 'high', 'critical'];
    // 1,500 events in bursts a minute apart (one time mark each), every third in one of 7 chains.
    for (let i = 0; i < 1_500; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => {
        const n = i + j;
        const body: Record<string, unknown> = { value: n, priority: priorities[n % 4], pad: randomBytes(600).toString('base64') };
        if (n % 3 === 0) body.correlationId = `chain-${n % 7}`;
        return rig.appender.append(draftOn(`sensors/d${n % 5}/t`, body, clock.now));
      }));
      clock.now += MIN;
    }
    await assertIndexMatchesLog(rig);
    const chain3 = seqsOf(await readAll(rig.store, { correlation: 'chain-3' }));
    assert.equal(chain3.length, 72);

    // Retention: everything forwarded, the first 500 received over a day ago.
    const summary = await pruneForwarded(rig.store, { forwardedThrough: 1_500, retentionMs: DAY, now: T0 + 5 * MIN + DAY + 1 });
    assert.deepEqual(summary, { pruned: 500, throughSeq: 500 });
    await assertIndexMatchesLog(rig);
    assert.deepEqual(seqsOf(await readAll(rig.store, { correlation: 'chain-3' })), chain3.filter((s) => s > 500));

    // Eviction: the store over a cap half its size, nothing more forwarded: the backlog
    // goes lowest priority first, across the log, its entries with it.
    await compactStore(rig.store);
    const bytes = await rig.store.liveBytes();
    const evicted = await evictToFit(rig.store, { maxBytes: Math.floor(bytes / 2), forwardedThrough: 500 });
    assert.ok(evicted.byPriority.low > 0, `low events evicted: ${JSON.stringify(evicted.byPriority)}`);
    await assertIndexMatchesLog(rig);
    const left = new Set(seqsOf(await readAll(rig.store)));
    assert.deepEqual(seqsOf(await readAll(rig.store, { correlation: 'chain-3' })), chain3.filter((s) => s > 500 && left.has(s)));
    assert.ok(chain3.some((s) => s > 500 && !left.has(s)), 'some of the chain was evicted');
    await rig.close();
  });
});
