// How many entries the rejected store holds (`edgebus_dlq_events`, status, the heartbeat):
// counted once at start, then kept up to date by what comes in and what `dlq` takes out.
import type { EventBus } from '../pipeline/bus.js';
import type { EventStore } from '../store/event-store.js';
import { countRejectedEntries } from '../store/rejected.js';
import type { Logger } from '../util/log.js';

export class DeadLetterCount {
  private n = 0;

  get size(): number {
    return this.n;
  }

  async load(store: EventStore): Promise<void> {
    this.n = await countRejectedEntries(store);
  }

  /** Counts (and logs) every payload rejected and every event upstream refused for good. */
  attach(bus: EventBus, log: Logger, owner: string): void {
    bus.on(owner, 'rejected', (r) => {
      this.n++;
      log.warn({ topic: r.topic, reason: r.reason, detail: r.detail, clientId: r.clientId }, 'payload rejected');
    });
  }

  /** Entries that left the store (retried through, or purged). */
  removed(count: number): void {
    this.n = Math.max(0, this.n - count);
  }
}
