// Events appended per second over the last minute, fed by the bus's 'committed' events,
// read by `status` and the dashboard. O(1) per commit group.
import type { EventBus } from '../pipeline/bus.js';
import { MinuteCounter } from './minute-counter.js';

export class IngestRate {
  private readonly counter: MinuteCounter;
  /** Before a whole window has passed, the rate is over the time since this started. */
  private readonly since: number;

  /** `now`: the gateway clock (a wall clock stepped back would zero the rate until it caught up). */
  constructor(private readonly windowSeconds = 60, private readonly now: () => number = Date.now) {
    this.since = now();
    this.counter = new MinuteCounter(now, windowSeconds);
  }

  /** Counts every committed event (duplicates and rejects excluded), listening as `owner`. */
  attachedTo(bus: EventBus, owner: string): this {
    bus.on(owner, 'committed', (c) => this.add(c.events));
    return this;
  }

  add(n: number): void {
    this.counter.add(n);
  }

  /** Events in the window's seconds (the current one included), per second. */
  perSecond(): number {
    const span = Math.min(this.windowSeconds, Math.max(1, (this.now() - this.since) / 1000));
    return this.counter.inWindow() / span;
  }
}
