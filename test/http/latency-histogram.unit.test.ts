// The fixed-bucket latency histogram behind `status` and the dashboard's percentiles
// (src/http/latency-histogram.ts): estimates within a bucket's width, exact at the extremes,
// weighted observations, and the last minute on an injected clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram, RecentLatency } from '../../src/http/latency-histogram.js';

/** Within 20% (one bucket's width) of `want`. */
function near(got: number | null, want: number, what: string): void {
  assert.ok(got !== null && Math.abs(got - want) <= want * 0.2, `${what}: ${got} is not within 20% of ${want}`);
}

describe('LatencyHistogram', () => {
  it('has no percentiles before its first observation', () => {
    const h = new LatencyHistogram();
    assert.equal(h.quantile(0.5), null);
    assert.deepEqual(h.summary(), { count: 0, p50Ms: null, p99Ms: null });
  });

  it('gives a single value back exactly', () => {
    const h = new LatencyHistogram();
    h.observe(0.0042);
    assert.deepEqual(h.summary(), { count: 1, p50Ms: 4.2, p99Ms: 4.2 });
  });

  it('estimates p50 and p99 within a bucket of the true values', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.observe(ms / 1000);
    near(h.quantile(0.5), 0.5, 'p50');
    near(h.quantile(0.99), 0.99, 'p99');
    assert.equal(h.quantile(0), 0.001, 'the smallest value seen');
    assert.equal(h.quantile(1), 1, 'the largest value seen');
    assert.equal(h.count, 1000);
  });

  it('counts a weighted observation as that many', () => {
    const h = new LatencyHistogram();
    h.observe(0.001, 98);
    h.observe(2, 2);
    assert.equal(h.count, 100);
    near(h.quantile(0.5), 0.001, 'p50 among the 98');
    near(h.quantile(0.99), 2, 'p99 among the slow 2');
  });

  it('keeps values past its last bucket and ignores what is not a duration', () => {
    const h = new LatencyHistogram();
    h.observe(3_600);
    h.observe(-1);
    h.observe(Number.NaN);
    h.observe(0.5, 0);
    assert.equal(h.count, 1);
    assert.equal(h.quantile(0.5), 3_600);
    const tiny = new LatencyHistogram();
    tiny.observe(0);
    assert.equal(tiny.quantile(0.99), 0);
  });

  it('merges another histogram', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.observe(0.01, 50);
    b.observe(0.1, 50);
    a.add(b);
    assert.equal(a.count, 100);
    near(a.quantile(0.25), 0.01, 'p25');
    near(a.quantile(0.99), 0.1, 'p99');
  });
});

describe('RecentLatency', () => {
  it('forgets what is older than a minute in lastMinute, never in sinceStart', () => {
    const clock = { now: 1_000_000 };
    const r = new RecentLatency(() => clock.now);
    r.observe(0.5);
    clock.now += 30_000;
    r.observe(0.002, 3);
    let s = r.summary();
    assert.equal(s.lastMinute.count, 4);
    assert.equal(s.sinceStart.count, 4);
    near(s.lastMinute.p99Ms, 500, 'p99 of the last minute');

    clock.now += 40_000;
    s = r.summary();
    assert.equal(s.lastMinute.count, 3, 'the first observation is 70 s old');
    assert.equal(s.lastMinute.p99Ms, 2);
    assert.equal(s.sinceStart.count, 4);
    near(s.sinceStart.p99Ms, 500, 'p99 since the start');

    clock.now += 60_000;
    assert.deepEqual(r.summary().lastMinute, { count: 0, p50Ms: null, p99Ms: null });
    // A slot used again a minute later starts empty.
    r.observe(0.004);
    assert.deepEqual(r.summary().lastMinute, { count: 1, p50Ms: 4, p99Ms: 4 });
    assert.equal(r.summary().sinceStart.count, 5);
  });
});
