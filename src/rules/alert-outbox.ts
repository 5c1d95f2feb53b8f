// Where the engine's decisions become effects, in order: the alert is appended through the
// same path as every event (stored, then forwarded at its priority), then published on the
// local broker (QoS 1) and its actions run. An alert the id index
// already knows — the same decision made again by a replay — has no effect at all.
import type { Appender } from '../pipeline/appender.js';
import type { Logger } from '../util/log.js';
import type { AlertIntent } from './alerts.js';

export interface OutboxOptions {
  appender: Appender;
  publish: (topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;
  /** Called for each alert stored (not for the duplicates a replay makes). */
  onStored?: (alert: AlertIntent) => void;
  log: Logger;
}

export class AlertOutbox {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly opts: OutboxOptions) {}

  /**
   * The append starts at once, so alerts decided together share one group commit; their
   * deliveries still happen one after another, in the order they were decided.
   */
  push(alert: AlertIntent): void {
    this.pending++;
    const stored = this.store(alert);
    this.chain = this.chain.then(() => stored.then((ok) => (ok ? this.deliver(alert) : undefined))).finally(() => this.pending--);
  }

  get queued(): number {
    return this.pending;
  }

  /** Resolves when everything pushed so far has been handled. */
  drained(): Promise<void> {
    return this.chain;
  }

  private async store(alert: AlertIntent): Promise<boolean> {
    try {
      return await this.opts.appender.append(alert.draft);
    } catch (err) {
      // Not stored, so not delivered: the rule state moved on, and a rebuild from the log
      // after the store recovers decides it again.
      this.opts.log.error({ err, rule: alert.rule.id, group: alert.group, state: alert.state }, 'alert could not be stored');
      return false;
    }
  }

  private async deliver(alert: AlertIntent): Promise<void> {
    const { publish, log } = this.opts;
    this.opts.onStored?.(alert);
    log.info({ rule: alert.rule.id, group: alert.group, state: alert.state, id: alert.draft.id }, `alert ${alert.state}: ${String(alert.draft.payload.message)}`);
    try {
      await publish(alert.topic, Buffer.from(JSON.stringify(alert.draft)), { qos: 1, retain: false });
      for (const a of alert.actions) await publish(a.topic, a.payload, { qos: a.qos, retain: a.retain });
    } catch (err) {
      log.error({ err, rule: alert.rule.id, topic: alert.topic }, 'alert stored but not published locally');
    }
  }
}
