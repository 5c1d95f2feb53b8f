import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer, type SequencerOp, type SequencerOptions } from '../../src/pipeline/sequencer.js';
import { seqDraft } from '../helpers/drafts.js';

const T0 = Date.parse('2026-11-26T00:00:00Z');
const WINDOW = 2_000;
const DEDUP = 86_400_000;

/** A sequencer driven the way the appender drives it: every append counts against its source. */
function harness(opts: Partial<SequencerOptions> = {}) {
  const seq = new Sequencer({ reorderWindow: WINDOW, dedupWindow: DEDUP, ...opts });
  const record = (ops: SequencerOp[], now: number) => {
    for (const op of ops) if (op.op === 'append') seq.nextVersion(op.draft.source, now);
    return ops;
  };
  return {
    seq,
    offer(source: string, deviceSeq: number, now = T0) {
      const ops: SequencerOp[] = [];
      const result = seq.offer(seqDraft(source, deviceSeq, now), now, ops);
      return { result, ops: record(ops, now) };
    },
    release(now: number) {
      const ops: SequencerOp[] = [];
      seq.releaseDue(now, ops);
      return record(ops, now);
    },
  };
}

/** The ops as short strings: append:<id>, stage:<seq>, unstage:<epoch>:<seq>, gap:<from>-<to>, reset:<epoch>. */
function summary(ops: SequencerOp[]): string[] {
  return ops.map((o) => {
    switch (o.op) {
      case 'append': return `append:${o.draft.id}`;
      case 'stage': return `stage:${o.draft.deviceSeq}`;
      case 'unstage': return `unstage:${o.epoch}:${o.deviceSeq}`;
      case 'notice': return o.notice.kind === 'sequence-gap'
        ? `gap:${o.notice.missing[0]}-${o.notice.missing[1]}`
        : `reset:${o.notice.epoch}`;
    }
  });
}

describe('Sequencer ordering', () => {
  test('in-order events are appended with ids source:epoch:seq', () => {
    const h = harness();
    for (const n of [1, 2, 3]) {
      const { result, ops } = h.offer('s', n);
      assert.equal(result, 'appended');
      assert.deepEqual(summary(ops), [`append:s:0:${n}`]);
    }
    assert.equal(h.seq.state('s').next, 4);
    assert.equal(h.seq.state('s').version, 3);
  });

  test('events without a device seq are appended as they come', () => {
    const seq = new Sequencer({ reorderWindow: WINDOW, dedupWindow: DEDUP });
    const draft = seqDraft('s', 0, T0);
    draft.deviceSeq = null;
    const ops: SequencerOp[] = [];
    assert.equal(seq.offer(draft, T0, ops), 'appended');
    assert.equal(ops.length, 1);
    assert.equal(draft.id, null, 'the appender makes a ULID for it');
  });

  test('the first event of a source sets where it starts', () => {
    const h = harness();
    assert.deepEqual(summary(h.offer('s', 40).ops), ['append:s:0:40']);
    assert.deepEqual(summary(h.offer('s', 41).ops), ['append:s:0:41']);
  });

  test('an out-of-order event is staged, then drained when its predecessor arrives', () => {
    const h = harness();
    h.offer('s', 1);
    const ahead = h.offer('s', 3);
    assert.equal(ahead.result, 'staged');
    assert.deepEqual(summary(ahead.ops), ['stage:3']);
    const ahead2 = h.offer('s', 4);
    assert.deepEqual(summary(ahead2.ops), ['stage:4']);
    assert.equal(h.seq.stagedCount(), 2);
    const missing = h.offer('s', 2);
    assert.equal(missing.result, 'appended');
    assert.deepEqual(summary(missing.ops), ['append:s:0:2', 'unstage:0:3', 'append:s:0:3', 'unstage:0:4', 'append:s:0:4']);
    assert.equal(h.seq.stagedCount(), 0);
    assert.equal(h.seq.nextDeadline(), null);
  });

  test('sources are ordered independently', () => {
    const h = harness();
    h.offer('a', 1);
    h.offer('b', 1);
    assert.equal(h.offer('a', 3).result, 'staged');
    assert.deepEqual(summary(h.offer('b', 2).ops), ['append:b:0:2']);
  });
});

describe('Sequencer duplicates', () => {
  test('a seq already appended is a duplicate', () => {
    const h = harness();
    for (const n of [1, 2, 3, 4]) h.offer('s', n);
    for (const n of [2, 3, 4]) {
      const { result, ops } = h.offer('s', n);
      assert.equal(result, 'duplicate');
      assert.deepEqual(ops, []);
    }
  });

  test('a seq that is already staged is a duplicate', () => {
    const h = harness();
    h.offer('s', 1);
    h.offer('s', 3);
    const again = h.offer('s', 3);
    assert.equal(again.result, 'duplicate');
    assert.deepEqual(again.ops, []);
    assert.equal(h.seq.stagedCount(), 1);
  });
});

describe('Sequencer gaps', () => {
  test('releaseDue releases a gap after the reorder window, with its missing range', () => {
    const h = harness();
    h.offer('s', 1, T0);
    h.offer('s', 4, T0 + 100);
    assert.equal(h.seq.nextDeadline(), T0 + 100 + WINDOW);
    assert.deepEqual(h.release(T0 + 100 + WINDOW - 1), [], 'nothing is due before the window has passed');
    const ops = h.release(T0 + 100 + WINDOW);
    assert.deepEqual(summary(ops), ['gap:2-3', 'unstage:0:4', 'append:s:0:4']);
    const notice = ops[0];
    assert.ok(notice.op === 'notice');
    assert.deepEqual(notice.notice, { kind: 'sequence-gap', source: 's', epoch: 0, missing: [2, 3] });
    assert.equal(h.seq.nextDeadline(), null);
    assert.deepEqual(summary(h.offer('s', 5).ops), ['append:s:0:5']);
  });

  test('a late arrival inside a released gap is appended once', () => {
    const h = harness();
    h.offer('s', 1);
    h.offer('s', 5);
    h.release(T0 + WINDOW);
    assert.deepEqual(h.seq.state('s').gaps, [[2, 4]]);
    const late = h.offer('s', 3);
    assert.equal(late.result, 'appended');
    assert.deepEqual(summary(late.ops), ['append:s:0:3']);
    assert.equal(h.offer('s', 3).result, 'duplicate');
    assert.equal(h.offer('s', 2).result, 'appended');
    assert.equal(h.offer('s', 4).result, 'appended');
    assert.equal(h.offer('s', 4).result, 'duplicate');
    assert.equal(h.offer('s', 5).result, 'duplicate');
  });

  test('several gaps release in seq order, each recorded', () => {
    const h = harness();
    h.offer('s', 1);
    h.offer('s', 3);
    h.offer('s', 6);
    assert.deepEqual(summary(h.release(T0 + WINDOW)), ['gap:2-2', 'unstage:0:3', 'append:s:0:3', 'gap:4-5', 'unstage:0:6', 'append:s:0:6']);
  });

  test('nextDeadline is the earliest wait across sources', () => {
    const h = harness();
    assert.equal(h.seq.nextDeadline(), null);
    h.offer('a', 1, T0);
    h.offer('b', 1, T0);
    h.offer('b', 3, T0 + 500);
    h.offer('a', 3, T0 + 900);
    assert.equal(h.seq.nextDeadline(), T0 + 500 + WINDOW);
    h.release(T0 + 500 + WINDOW);
    assert.equal(h.seq.nextDeadline(), T0 + 900 + WINDOW);
  });

  test('past maxStagedPerSource the oldest gap is released at once', () => {
    const h = harness({ maxStagedPerSource: 2 });
    h.offer('s', 1);
    h.offer('s', 3);
    h.offer('s', 5);
    const over = h.offer('s', 7);
    assert.equal(over.result, 'staged');
    assert.deepEqual(summary(over.ops), ['stage:7', 'gap:2-2', 'unstage:0:3', 'append:s:0:3']);
    assert.equal(h.seq.stagedCount(), 2);
  });
});

describe('Sequencer epochs', () => {
  test('seq 1 after a higher one opens a new epoch', () => {
    const h = harness();
    for (const n of [1, 2, 3]) h.offer('s', n);
    const reset = h.offer('s', 1);
    assert.equal(reset.result, 'appended');
    assert.deepEqual(summary(reset.ops), ['reset:1', 'append:s:1:1']);
    const notice = reset.ops[0];
    assert.ok(notice.op === 'notice');
    assert.deepEqual(notice.notice, { kind: 'sequence-reset', source: 's', epoch: 1, previousEpoch: 0, lastSeq: 3, reason: 'counter-restarted' });
    assert.deepEqual(summary(h.offer('s', 2).ops), ['append:s:1:2']);
    assert.equal(h.offer('s', 2).result, 'duplicate');
  });

  test('seq 0 after a higher one opens a new epoch too', () => {
    const h = harness();
    for (const n of [5, 6]) h.offer('s', n);
    assert.deepEqual(summary(h.offer('s', 0).ops), ['reset:1', 'append:s:1:0']);
    assert.deepEqual(summary(h.offer('s', 1).ops), ['append:s:1:1']);
  });

  test('staged events of the old epoch are released before the new epoch starts', () => {
    const h = harness();
    h.offer('s', 1);
    h.offer('s', 2);
    h.offer('s', 5);
    const reset = h.offer('s', 1);
    assert.deepEqual(summary(reset.ops), ['gap:3-4', 'unstage:0:5', 'append:s:0:5', 'reset:1', 'append:s:1:1']);
    assert.equal(h.seq.stagedCount(), 0);
    assert.deepEqual(h.seq.state('s').gaps, [], 'gaps of the old epoch are forgotten');
  });

  test('after the dedup window a lower seq opens a new epoch', () => {
    const h = harness();
    for (const n of [1, 2, 3, 4, 5, 6]) h.offer('s', n, T0);
    assert.equal(h.offer('s', 4, T0 + DEDUP).result, 'duplicate', 'still inside the window');
    const later = h.offer('s', 4, T0 + DEDUP + 1);
    assert.deepEqual(summary(later.ops), ['reset:1', 'append:s:1:4']);
    const notice = later.ops[0];
    assert.ok(notice.op === 'notice' && notice.notice.kind === 'sequence-reset');
    assert.equal(notice.notice.reason, 'dedup-window-expired');
    assert.equal(notice.notice.lastSeq, 6);
  });
});

describe('Sequencer counters of recorded gaps and resets', () => {
  const counters = (h: ReturnType<typeof harness>, source: string) => [h.seq.state(source).gapsRecorded ?? 0, h.seq.state(source).resetsRecorded ?? 0];

  test('each gap and reset notice counts against the source it is about, in the state the appender writes', () => {
    const h = harness();
    h.offer('s', 1);
    h.offer('s', 3);
    h.offer('s', 6);
    h.offer('t', 1);
    h.seq.takeDirty();
    h.release(T0 + WINDOW);
    assert.deepEqual(counters(h, 's'), [2, 0]);
    assert.ok(h.seq.takeDirty().includes('s'), 'the state holding them is written with the notices');
    h.offer('s', 1);
    h.offer('s', 5);
    // The reset releases the staged 5 of the old epoch first: one gap more.
    h.offer('s', 1);
    assert.deepEqual(counters(h, 's'), [3, 2]);
    assert.deepEqual(counters(h, 't'), [0, 0]);
  });

  test('a state loaded without counters (an older release) counts on from 0', () => {
    const seq = new Sequencer({ reorderWindow: WINDOW, dedupWindow: DEDUP });
    seq.load([['s', { epoch: 0, next: 4, version: 3, lastSeenAt: T0, gaps: [] }]], []);
    seq.offer(seqDraft('s', 1, T0), T0, []);
    assert.equal(seq.state('s').resetsRecorded, 1);
    assert.equal(seq.state('s').gapsRecorded, undefined);
  });
});

describe('Sequencer load', () => {
  test('load() restores source states and staged drafts', () => {
    const staged = seqDraft('s', 10, T0);
    staged.id = 's:2:10';
    const seq = new Sequencer({ reorderWindow: WINDOW, dedupWindow: DEDUP });
    seq.offer(seqDraft('other', 1, T0), T0, []);
    seq.load([['s', { epoch: 2, next: 8, version: 7, lastSeenAt: T0, gaps: [[3, 4]] }]], [{ draft: staged, deadline: T0 + 5_000 }]);
    assert.equal(seq.stagedCount(), 1);
    assert.equal(seq.nextDeadline(), T0 + 5_000);
    assert.deepEqual([...seq.sources()].map(([s]) => s), ['s'], 'load replaces what was there');
    const run = (n: number) => {
      const ops: SequencerOp[] = [];
      return { result: seq.offer(seqDraft('s', n, T0 + 1), T0 + 1, ops), ops: summary(ops) };
    };
    assert.deepEqual(run(8), { result: 'appended', ops: ['append:s:2:8'] });
    assert.deepEqual(run(3), { result: 'appended', ops: ['append:s:2:3'] });
    assert.deepEqual(run(5), { result: 'duplicate', ops: [] });
    assert.deepEqual(run(9), { result: 'appended', ops: ['append:s:2:9', 'unstage:2:10', 'append:s:2:10'] });
    assert.equal(seq.nextVersion('s', T0 + 2), 8);
  });
});
