// What /healthz says (SPEC §7): starting, ok, stopping, or store-unavailable with the failed
// write's reason, kept from the pipeline's store errors and recoveries.
import type { Health } from '../http/server.js';
import type { EventBus } from '../pipeline/bus.js';
import { storeErrorReason } from '../store/write-errors.js';
import type { Logger } from '../util/log.js';

export class HealthState {
  private state: Health = 'starting';
  /** Why it is not ok, when known: the failed write's system error. */
  private why: string | null = null;
  private failed = 0;
  private lastFailure: string | null = null;

  get current(): Health {
    return this.state;
  }

  get reason(): string | null {
    return this.state === 'ok' ? null : this.why;
  }

  /**
   * Store failures so far, and the last one's state and reason: a failure the store
   * recovers from between two looks at `current` still counts (desired state's grace).
   */
  get failures(): { count: number; last: string | null } {
    return { count: this.failed, last: this.lastFailure };
  }

  ready(): void {
    if (this.state === 'starting') this.state = 'ok';
  }

  stopping(): void {
    this.state = 'stopping';
  }

  /** Follows the store: a failed write makes it unavailable until the store is reopened. */
  attach(bus: EventBus, log: Logger, owner: string): void {
    bus.on(owner, 'storeError', (err) => {
      const reason = storeErrorReason(err);
      if (this.state === 'ok') this.state = 'store-unavailable';
      if (this.state === 'store-unavailable') this.why = reason;
      this.failed++;
      this.lastFailure = `store-unavailable (${reason})`;
      log.error({ err }, 'store write failed; publishes in that group were not acknowledged');
    });
    bus.on(owner, 'storeRecovered', () => {
      if (this.state === 'store-unavailable') {
        this.state = 'ok';
        this.why = null;
      }
      log.warn('store reopened; accepting publishes again');
    });
  }
}
