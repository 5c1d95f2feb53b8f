// Reading → alert latency: from the commit of the reading that caused an alert (its
// `metadata.causationId`) to the commit of the alert itself. The rules evaluate a group's
// readings as soon as that group is durable and append their alerts at once, into the group
// the appender is building then, which it writes next: an alert's cause is in one of the two
// groups committed before it. Those two groups are kept (the arrays the bus handed out, no
// copy) with their commit times; an alert whose cause is older (one decided by a timer, an
// absence, the rebuild after a restart) or is not a reading is not a reading's latency and is
// left out.
import type { EdgeEvent } from '../events/types.js';

const KEPT = 2;

export class ReadingAlertLatency {
  private readonly groups: (readonly EdgeEvent[])[] = [];
  private readonly times: number[] = [];

  /** `observe`: hears each alert's latency in seconds. */
  constructor(private readonly observe: (seconds: number) => void) {}

  /** One commit group's events, committed at `at` (a monotonic clock, ms). */
  addEvents(events: readonly EdgeEvent[], at: number): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.type !== 'Alert' || e.metadata.causationId === null) continue;
      const committed = this.commitOfReading(e.metadata.causationId);
      if (committed !== null) this.observe(Math.max(0, at - committed) / 1000);
    }
    this.groups.unshift(events);
    this.times.unshift(at);
    if (this.groups.length > KEPT) {
      this.groups.length = KEPT;
      this.times.length = KEPT;
    }
  }

  private commitOfReading(id: string): number | null {
    for (let g = 0; g < this.groups.length; g++) {
      const events = this.groups[g];
      // The cause is usually near the end of its group: the last reading that decided it.
      for (let i = events.length - 1; i >= 0; i--) {
        if (events[i].id === id) return events[i].type === 'DeviceData' ? this.times[g] : null;
      }
    }
    return null;
  }
}
