// Where the engine's decisions become effects, one at a time and in order: the alert is
// appended through the same path as every event (stored, then forwarded at its priority),
// then published on the local broker (QoS 1) and its actions run. An alert the id index
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

  push(alert: AlertIntent): void {
    this.pending++;
    this.chain = this.chain.then(() => this.deliver(alert)).finally(() => this.pending--);
  }

  get queued(): number {
    return this.pending;
  }

  /** Resolves when everything pushed so far has been handled. */
  drained(): Promise<void> {
    return this.chain;
  }

  private async deliver(alert: AlertIntent): Promise<void> {
    const { appender, publish, log } = this.opts;
    let stored: boolean;
    try {
      stored = await appender.append(alert.draft);
    } catch (err) {
      // Not stored, so not delivered: the rule state moved on, and a rebuild from the log
      // after the store recovers decides it again.
      log.error({ err, rule: alert.rule.id, group: alert.group, state: alert.state }, 'alert could not be stored');
      return;
    }
    if (!stored) return;
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
