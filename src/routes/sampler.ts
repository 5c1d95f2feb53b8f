// Thinning a route's traffic per source and sensor: `every: N` keeps the 1st, N+1th … event
// of each, `interval` keeps at most one per interval of event time (on the gateway clock,
// so a backlog sent after an outage is thinned as it was produced, not as it leaves).
import type { EdgeEvent } from '../events/types.js';

export type SampleSpec = { every: number } | { intervalMs: number };

/** Keys (source × sensor) remembered: beyond, the oldest are forgotten and start afresh. */
const MAX_KEYS = 10_000;

export class Sampler {
  /** every: events seen since the last kept; interval: the time of the last kept. */
  private readonly state = new Map<string, number>();

  constructor(private readonly spec: SampleSpec) {}

  /** Whether `e` (at `time` on the gateway clock) is kept. Called once per event, in order. */
  keep(e: EdgeEvent, time: number): boolean {
    const key = e.sensor === undefined ? e.source : e.source + '\u0000' + e.sensor.type;
    const prev = this.state.get(key);
    if ('every' in this.spec) {
      const n = prev === undefined ? 0 : prev;
      this.remember(key, n + 1 >= this.spec.every ? 0 : n + 1);
      return n === 0;
    }
    // An event without a readable time is not thinned: dropping it could lose it for good.
    if (!Number.isFinite(time)) return true;
    // Older than the last kept (an urgent event was read ahead of it) counts as within its interval.
    if (prev !== undefined && (time < prev || time - prev < this.spec.intervalMs)) return false;
    this.remember(key, time);
    return true;
  }

  private remember(key: string, v: number): void {
    if (!this.state.has(key) && this.state.size >= MAX_KEYS) this.state.delete(this.state.keys().next().value!);
    this.state.set(key, v);
  }
}
