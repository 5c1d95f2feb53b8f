// Named checkpoints in a real LevelDB store: what `--at` resolves to, what `list` shows, and
// where `replay --from checkpoint:NAME` starts, including after retention pruned past one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveCheckpointAt, setCheckpoint } from '../../src/store/checkpoint-at.js';
import { CheckpointArgumentError, checkName, checkpointViews, deleteCheckpoint, readCheckpoint } from '../../src/store/checkpoints.js';
import { parseReplayFrom, ReplayArgumentError, replayStart } from '../../src/store/replay-from.js';
import { pruneForwarded } from '../../src/store/retention.js';
import { draftOn } from '../helpers/drafts.js';
import { openRig, type Clock, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const MIN = 60_000;

describe('named checkpoints', () => {
  let tmp: ReturnType<typeof tempDir>;
  let rig: StoreRig;
  const clock: Clock = { now: T0 };

  before(async () => {
    tmp = tempDir();
    rig = await openRig(tmp.dir, clock);
    // Three minutes of three readings each, a millisecond apart: one receive-time mark per event.
    for (let m = 0; m < 3; m++) {
      for (let i = 0; i < 3; i++) {
        clock.now = T0 + m * MIN + i;
        assert.ok(await rig.appender.append(draftOn('sensors/cp/temperature', { value: m * 3 + i }, clock.now)));
      }
    }
    assert.equal(await rig.store.lastSeq(), 9);
  });
  after(async () => {
    await rig.close();
    tmp.cleanup();
  });

  const at = (text: string) => resolveCheckpointAt(rig.store, text, 9, rig.appender.timeline);

  it('resolves --at now, seq:N and time:ISO to the last event handled', async () => {
    assert.equal(await at('now'), 9);
    assert.equal(await at('seq:4'), 4);
    assert.equal(await at('seq:0'), 0, 'before every event');
    // The last event received before the time: the second minute starts at seq 4.
    assert.equal(await at(`time:${new Date(T0 + MIN).toISOString()}`), 3);
    assert.equal(await at(`time:${new Date(T0 + MIN + 1).toISOString()}`), 4);
    assert.equal(await at(`time:${new Date(T0 - MIN).toISOString()}`), 0, 'before the log: nothing handled');
    assert.equal(await at(`time:${new Date(T0 + 10 * MIN).toISOString()}`), 9, 'after the log: all of it');
  });

  it('refuses a bad --at with what it expected', async () => {
    for (const [text, message] of [
      ['seq:x', /--at seq:N: expected a non-negative integer, got "x"/],
      ['seq:-1', /non-negative integer/],
      ['seq:10', /--at seq:10: the log's last seq is 9/],
      ['time:yesterday', /--at time:ISO: expected an ISO 8601 time/],
      ['time:', /expected an ISO 8601 time/],
      ['yesterday', /--at: expected now, seq:N or time:ISO, got "yesterday"/],
    ] as const) {
      await assert.rejects(at(text), (err: Error) => err instanceof CheckpointArgumentError && message.test(err.message), text);
    }
  });

  it('validates names and keeps `upstream` for the forwarder', () => {
    checkName('a'.repeat(64));
    checkName('before-maint_2026.11');
    assert.throws(() => checkName('upstream'), /forwarder's cursor.*cannot be set or removed/);
    assert.throws(() => checkName('upstream:alerts'), /forwarder's cursor/);
    for (const bad of ['', 'a'.repeat(65), 'with space', 'a/b', 'ümlaut', 'a:b']) {
      assert.throws(() => checkName(bad), /expected 1 to 64 of A-Z a-z 0-9 \. _ -/, JSON.stringify(bad));
    }
  });

  it('sets, lists, replaces and removes checkpoints', async () => {
    const record = await setCheckpoint(rig.store, 'mid', 'seq:5', 9, rig.appender.timeline);
    assert.equal(record.seq, 5);
    assert.equal(record.at, 'seq:5');
    assert.ok(Math.abs(Date.parse(record.setAt) - Date.now()) < 60_000, 'set at is the wall clock');
    await setCheckpoint(rig.store, 'zero', 'seq:0', 9, rig.appender.timeline);
    const views = await checkpointViews(rig.store, [{ name: 'upstream', seq: 2, note: 'cursor' }]);
    assert.deepEqual(views.map((v) => [v.name, v.seq, v.after, v.readOnly]), [['upstream', 2, 7, true], ['mid', 5, 4, false], ['zero', 0, 9, false]]);
    assert.equal(views[1].time, new Date(T0 + MIN + 1).toISOString(), 'the timestamp of the event at seq 5');
    assert.equal(views[2].time, null, 'no event at seq 0');
    assert.equal(views[0].note, 'cursor');

    await setCheckpoint(rig.store, 'mid', 'now', 9, rig.appender.timeline);
    assert.equal((await readCheckpoint(rig.store, 'mid'))?.seq, 9, 'a second set replaces the first');
    await deleteCheckpoint(rig.store, 'mid');
    assert.equal(await readCheckpoint(rig.store, 'mid'), undefined);
    await assert.rejects(deleteCheckpoint(rig.store, 'mid'), (err: Error) => err instanceof CheckpointArgumentError && err.notFound && /no checkpoint named "mid" \(known: zero\)/.test(err.message));
    await deleteCheckpoint(rig.store, 'zero');
  });

  it('replays from the seq after a checkpoint, a cursor standing in for `upstream`', async () => {
    await setCheckpoint(rig.store, 'three', 'seq:3', 9, rig.appender.timeline);
    const start = (from: string, cursors = [{ name: 'upstream', seq: 6 }]) => replayStart(rig.store, parseReplayFrom(from), { checkpoint: 9, cursors });
    assert.equal(await start('checkpoint:three'), 4);
    assert.equal(await start('checkpoint:upstream'), 7);
    assert.equal(await start('checkpoint'), 10, 'bare checkpoint: where the target stands');
    await assert.rejects(start('checkpoint:nope'), (err: Error) => err instanceof ReplayArgumentError && /--from checkpoint:nope: no such checkpoint \(known: upstream, three\)/.test(err.message));
    await assert.rejects(start('checkpoint:upstream', []), /no such checkpoint \(known: three\)/, 'no upstream: no cursor checkpoint');
    assert.throws(() => parseReplayFrom('checkpoint:'), /the checkpoint name is missing/);
  });

  it('starts at the first event held, with a warning, once retention pruned past a checkpoint', async () => {
    await setCheckpoint(rig.store, 'old', 'seq:1', 9, rig.appender.timeline);
    // Received over a minute before T0 + 2 min: the first minute, seqs 1 to 3.
    const pruned = await pruneForwarded(rig.store, { forwardedThrough: 9, retentionMs: MIN, now: T0 + 2 * MIN });
    assert.equal(pruned.throughSeq, 3);
    const warnings: string[] = [];
    const start = (from: string) => replayStart(rig.store, parseReplayFrom(from), { checkpoint: 9, warn: (m) => warnings.push(m) });
    assert.equal(await start('checkpoint:old'), 4);
    assert.deepEqual(warnings, ['checkpoint old is at seq 1, but the log now starts at seq 4 (seqs 2 to 3 were pruned): replaying from seq 4']);
    assert.equal(await start('checkpoint:three'), 4, 'right before the first event held: nothing lost');
    assert.equal(warnings.length, 1);
    const views = await checkpointViews(rig.store, []);
    assert.deepEqual(views.map((v) => [v.name, v.time, v.after]), [['old', null, 6], ['three', null, 6]]);
  });
});
