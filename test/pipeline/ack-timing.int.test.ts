// The ack stage's timing (`committed.ackSeconds`, edgebus_stage_seconds{stage="ack"}): from a
// commit group's first submission to its acknowledgement. A group is made when the one before
// it starts its write, so the time it then waits idle for its first submission is not part of
// any publisher's wait. The appender's monotonic clock is stepped by the test: the figures are
// exact, not measured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/http/metrics.js';
import type { CommitStats } from '../../src/pipeline/bus.js';
import { metricValue } from '../helpers/api.js';
import { seqDraft } from '../helpers/drafts.js';
import { openRig } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');

test('a group that waited idle reports only the time from its first submission to its acknowledgement', async (t) => {
  const mono = { now: 1_000 };
  const rig = await openRig(tempDirFor(t), { now: T0 }, { monotonic: () => mono.now });
  t.after(() => rig.close());
  const metrics = new Metrics({ store: rig.store, bus: rig.bus, lastSeq: () => rig.appender.seq, dlqSize: () => 0, upstream: () => null });
  const commits: CommitStats[] = [];
  rig.bus.on('test', 'committed', (c) => commits.push(c));

  // A minute with nothing to do after the appender made its first group.
  mono.now += 60_000;
  const first = rig.appender.append(seqDraft('a', 1, T0));
  // The write starts on a later turn of the event loop: it completes 3 ms later on this clock.
  mono.now += 3;
  await first;
  assert.equal(commits.length, 1);
  assert.equal(commits[0].ackSeconds, 0.003, 'not the idle minute before the submission');
  assert.equal(commits[0].submissions, 1);

  // The next group was made when the first began its write; two more minutes idle, then two
  // submissions in one turn, one group.
  mono.now += 120_000;
  const second = Promise.all([rig.appender.append(seqDraft('a', 2, T0)), rig.appender.append(seqDraft('a', 3, T0))]);
  mono.now += 5;
  await second;
  assert.equal(commits.length, 2);
  assert.equal(commits[1].ackSeconds, 0.005);
  assert.equal(commits[1].submissions, 2);

  const text = await metrics.text();
  assert.equal(metricValue(text, 'edgebus_stage_seconds_count', { stage: 'ack' }), 2);
  assert.equal(metricValue(text, 'edgebus_stage_seconds_sum', { stage: 'ack' }), 0.008);
  assert.equal(metricValue(text, 'edgebus_stage_seconds_bucket', { le: '0.005', stage: 'ack' }), 2, 'both under 5 ms');
});
