// Event ids resolve for as long as their events are in the log, and no longer: a
// publisher's id through the id index (pruned with the log), an id derived from a device
// `seq` through the source's stream, a gateway-made ULID through the receive-time marks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seqOfId } from '../../src/store/log-reader.js';
import { pruneForwarded } from '../../src/store/retention.js';
import { ReplayArgumentError, replayStart } from '../../src/store/replay-from.js';
import { draftOn, seqDraft } from '../helpers/drafts.js';
import { DEDUP_WINDOW, openRig, readAll } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const HOUR = 3_600_000;

test('every kind of id resolves while its event is held, past the dedup window, and not once retention pruned it', async (t) => {
  const clock = { now: T0 };
  const rig = await openRig(tempDirFor(t), clock);
  t.after(() => rig.close());
  const appendKinds = async (tag: string) => {
    await rig.appender.append(draftOn('sensors/pub/t', { id: `pub-${tag}`, value: 1 }, clock.now));
    await rig.appender.append(seqDraft(`dev-${tag}`, 7, clock.now));
    await rig.appender.append(draftOn(`sensors/bare-${tag}/t`, '21', clock.now));
    const events = await readAll(rig.store);
    return events.slice(-3).map((e) => e.id);
  };
  const old = await appendKinds('old');
  assert.equal(old[1], 'dev-old:0:7');
  clock.now = T0 + 2 * DEDUP_WINDOW;
  const young = await appendKinds('young');

  for (const [i, id] of [...old, ...young].entries()) {
    assert.equal(await seqOfId(rig.store, id), i + 1, `${id} past the dedup window`);
    assert.equal(await replayStart(rig.store, { kind: 'id', id }, { checkpoint: 0 }), i + 1);
  }

  // The old three leave the log (forwarded, and older than an hour of retention).
  const pruned = await pruneForwarded(rig.store, { forwardedThrough: 6, retentionMs: HOUR, now: clock.now + HOUR });
  assert.equal(pruned.throughSeq, 3);
  assert.equal(await rig.appender.idIndex.prune(await rig.store.firstSeq()), 1, 'the publisher id entry goes with its event');
  assert.equal(await rig.store.ids.get('pub-old'), undefined);
  for (const id of old) {
    assert.equal(await seqOfId(rig.store, id), null, `${id} is gone with its event`);
    await assert.rejects(replayStart(rig.store, { kind: 'id', id }, { checkpoint: 0 }), ReplayArgumentError);
  }
  for (const [i, id] of young.entries()) assert.equal(await seqOfId(rig.store, id), i + 4, `${id} still held`);
});
