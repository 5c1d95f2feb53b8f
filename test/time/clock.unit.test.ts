// The gateway clock (src/time/clock.ts): monotonic whatever the wall clock does; a step of
// the wall clock moves the offset and is reported once; quality follows what the OS says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayClock, STEP_THRESHOLD_MS } from '../../src/time/clock.js';
import { clockQuality } from '../../src/time/quality.js';
import { RELEASED_AT } from '../../src/version.js';

const T0 = Date.UTC(2026, 11, 2, 12);

/** Wall and monotonic readings the test moves by hand. */
function readings(wall = T0) {
  const r = { wall, mono: 0 };
  return { r, sources: { wall: () => r.wall, mono: () => r.mono } };
}

describe('GatewayClock', () => {
  it('runs on the monotonic clock from its start point, whatever the wall clock does', () => {
    const { r, sources } = readings();
    const clock = new GatewayClock({ g: 5_000, wall: T0, quality: 'synced' }, sources);
    assert.equal(clock.now(), 5_000);
    assert.equal(clock.offset, T0 - 5_000);
    r.mono += 1_500.7;
    r.wall -= 86_400_000;
    assert.equal(clock.now(), 6_500, 'whole milliseconds, unmoved by the wall clock');
    assert.equal(clock.wall(), T0 - 86_400_000);
  });

  it('reports a step once, with what the wall clock read before and after, and moves its offset', () => {
    const { r, sources } = readings();
    const clock = new GatewayClock({ g: T0, wall: T0, quality: 'unsynced' }, sources);
    r.mono += 10_000;
    r.wall += 10_000 + 30 * 86_400_000;
    const step = clock.check(null);
    assert.ok(step);
    assert.equal(step.kind, 'step');
    assert.equal(step.from, T0 + 10_000);
    assert.equal(step.to, r.wall);
    assert.equal(step.delta, 30 * 86_400_000);
    assert.equal(step.previous, 'unsynced');
    assert.equal(step.quality, 'stepped', 'a step the OS has not vouched for');
    assert.equal(clock.offset, 30 * 86_400_000);
    assert.equal(clock.check(null), null, 'reported once');
    assert.equal(clock.now(), T0 + 10_000, 'the gateway clock went on as if nothing happened');
  });

  it('takes a drift under the threshold as no step, and one at the threshold (either way) as one', () => {
    const { r, sources } = readings();
    const clock = new GatewayClock({ g: T0, wall: T0, quality: 'synced' }, sources);
    r.wall += STEP_THRESHOLD_MS - 1;
    assert.equal(clock.check(true), null);
    r.wall -= 2 * STEP_THRESHOLD_MS;
    const step = clock.check(true);
    assert.equal(step?.kind, 'step');
    assert.equal(step?.delta, -STEP_THRESHOLD_MS - 1);
    assert.equal(step?.quality, 'synced', 'the OS says it is synchronised after the step');
  });

  it('reports a change of quality without a step', () => {
    const { sources } = readings();
    const clock = new GatewayClock({ g: T0, wall: T0, quality: 'unsynced' }, sources);
    const change = clock.check(true);
    assert.deepEqual({ kind: change?.kind, quality: change?.quality, previous: change?.previous, delta: change?.delta }, { kind: 'quality', quality: 'synced', previous: 'unsynced', delta: 0 });
    assert.equal(clock.check(true), null);
  });

  it('knows the boot clock along its own run', () => {
    const { r, sources } = readings();
    const clock = new GatewayClock({ g: 1_000, wall: T0, quality: 'synced', boot: 'b-1', uptime: 60_000 }, sources);
    r.mono += 2_000;
    assert.equal(clock.boot, 'b-1');
    assert.equal(clock.uptimeAt(clock.now()), 62_000);
  });
});

describe('clockQuality', () => {
  it('is unsynced before the release date whatever the OS says', () => {
    assert.equal(clockQuality(RELEASED_AT - 1, true, false), 'unsynced');
    assert.equal(clockQuality(0, null, true), 'unsynced');
  });
  it('follows the OS, then a step seen, then plausibility', () => {
    assert.equal(clockQuality(T0, true, true), 'synced');
    assert.equal(clockQuality(T0, false, false), 'unsynced');
    assert.equal(clockQuality(T0, false, true), 'stepped');
    assert.equal(clockQuality(T0, null, true), 'stepped');
    assert.equal(clockQuality(T0, null, false), 'synced');
  });
});
