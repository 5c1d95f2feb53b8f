// Events appended per second over the last minute: a ring of per-second counts fed by the
// bus's 'committed' events, read by `status` and the dashboard. O(1) per commit group.
import type { EventBus } from '../pipeline/bus.js';

export class IngestRate {
  private readonly counts: Float64Array;
  /** The whole second (since the epoch) each slot counts; a stale slot reads as zero. */
  private readonly seconds: Float64Array;

  /** Before a whole window has passed, the rate is over the time since this started. */
  private readonly since: number;

  /** `now`: the gateway clock (a wall clock stepped back would zero the rate until it caught up). */
  constructor(private readonly windowSeconds = 60, private readonly now: () => number = Date.now) {
    this.since = now();
    this.counts = new Float64Array(windowSeconds);
    this.seconds = new Float64Array(windowSeconds).fill(-1);
  }

  /** Counts every committed event (duplicates and rejects excluded), listening as `owner`. */
  attachedTo(bus: EventBus, owner: string): this {
    bus.on(owner, 'committed', (c) => this.add(c.events));
    return this;
  }

  add(n: number): void {
    if (n <= 0) return;
    const sec = Math.floor(this.now() / 1000);
    const i = sec % this.windowSeconds;
    if (this.seconds[i] !== sec) {
      this.seconds[i] = sec;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** Events in the window's seconds (the current one included), per second. */
  perSecond(): number {
    const nowMs = this.now();
    const now = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.seconds[i] > now - this.windowSeconds) total += this.counts[i];
    }
    const span = Math.min(this.windowSeconds, Math.max(1, (nowMs - this.since) / 1000));
    return total / span;
  }
}
