import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../src/util/backoff.js';

const policy = { initialDelay: 100, maxDelay: 1_000, multiplier: 2, jitter: false };
const take = (b: Backoff, n: number) => Array.from({ length: n }, () => b.next());

describe('Backoff', () => {
  test('grows by the multiplier from the initial delay and stops at the cap', () => {
    const b = new Backoff(policy);
    assert.deepEqual(take(b, 7), [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    assert.equal(b.attempts, 7);
  });

  test('a fractional multiplier rounds to whole milliseconds', () => {
    assert.deepEqual(take(new Backoff({ ...policy, multiplier: 1.5 }), 4), [100, 150, 225, 338]);
  });

  test('thousands of attempts stay at the cap (no overflow to Infinity or NaN)', () => {
    const b = new Backoff(policy);
    take(b, 5_000);
    assert.equal(b.next(), 1_000);
  });

  test('jitter draws between half the initial delay and the exponential ceiling', () => {
    const low = new Backoff({ ...policy, jitter: true }, () => 0);
    assert.deepEqual(take(low, 6), [50, 50, 50, 50, 50, 50]);
    const high = new Backoff({ ...policy, jitter: true }, () => 0.999999);
    assert.deepEqual(take(high, 6), [100, 200, 400, 800, 1_000, 1_000]);
    const mid = new Backoff({ ...policy, jitter: true }, () => 0.5);
    assert.deepEqual(take(mid, 5), [75, 125, 225, 425, 525]);
  });

  test('jitter stays within bounds for any draw, including a misbehaving random source', () => {
    const draws = [0, 0.1, 0.33, 0.5, 0.9, 1, -1, 2];
    let i = 0;
    const b = new Backoff({ ...policy, jitter: true }, () => draws[i++ % draws.length]);
    for (let n = 0; n < 40; n++) {
      const ceiling = Math.min(1_000, 100 * 2 ** n);
      const d = b.next();
      assert.ok(d >= 50 && d <= ceiling, `wait #${n} = ${d}, expected 50..${ceiling}`);
    }
  });

  test('a cap below half the initial delay still holds with jitter', () => {
    const b = new Backoff({ initialDelay: 1_000, maxDelay: 200, multiplier: 2, jitter: true }, () => 0);
    assert.deepEqual(take(b, 3), [200, 200, 200]);
  });

  test('reset starts again from the initial delay', () => {
    const b = new Backoff(policy);
    take(b, 4);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.deepEqual(take(b, 2), [100, 200]);
    assert.equal(b.attempts, 2);
  });
});
