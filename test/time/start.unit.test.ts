// Where the gateway clock starts (src/time/start.ts): exactly where it was within a boot,
// across a reboot by the wall clock only when both ends were synchronised, never below what
// the store holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startingPoint, type ClockMark } from '../../src/time/start.js';
import { RELEASED_AT } from '../../src/version.js';

const T0 = Date.UTC(2026, 11, 2, 12);
const mark = (over: Partial<ClockMark> = {}): ClockMark => ({ boot: 'b-1', uptime: 100_000, g: T0, wall: T0, quality: 'synced', ...over });

describe('startingPoint', () => {
  it('starts a new store at the wall clock, or at the release date when the wall clock is before it', () => {
    assert.deepEqual(startingPoint({ last: null, highest: 0, boot: 'b', uptime: 1, wall: T0, synced: true }), { g: T0, continuity: 'new-store' });
    assert.equal(startingPoint({ last: null, highest: 0, boot: 'b', uptime: 1, wall: 0, synced: false }).g, RELEASED_AT);
  });

  it('starts above everything an older store holds', () => {
    assert.equal(startingPoint({ last: null, highest: T0 + 5_000, boot: 'b', uptime: 1, wall: T0, synced: true }).g, T0 + 5_001);
  });

  it('carries on by the boot clock within one boot, whatever the wall clock reads', () => {
    const p = startingPoint({ last: mark(), highest: T0, boot: 'b-1', uptime: 160_000, wall: 0, synced: false });
    assert.deepEqual(p, { g: T0 + 60_000, continuity: 'same-boot' });
  });

  it('counts a reboot by the wall clock when it was synchronised before and is now', () => {
    const p = startingPoint({ last: mark(), highest: T0, boot: 'b-2', uptime: 5_000, wall: T0 + 3_600_000, synced: true });
    assert.deepEqual(p, { g: T0 + 3_600_000, continuity: 'measured-downtime' });
  });

  it('counts an unknown reboot as nothing, but never goes below the store', () => {
    const stale = startingPoint({ last: mark(), highest: T0 + 90_000, boot: 'b-2', uptime: 5_000, wall: T0 - 86_400_000, synced: false });
    assert.deepEqual(stale, { g: T0 + 90_001, continuity: 'unknown-downtime' });
    const wasUnsynced = startingPoint({ last: mark({ quality: 'unsynced' }), highest: T0, boot: 'b-2', uptime: 5_000, wall: T0 + 3_600_000, synced: true });
    assert.equal(wasUnsynced.continuity, 'unknown-downtime');
  });
});
