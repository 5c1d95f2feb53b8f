// Where the engine's decisions become effects, in order: the alert (or derived event) and
// the Commands of its actions are appended through the same path as every event, in one
// group commit, so a crash keeps all of them or none; then, once durable, the alert is
// published on the local broker (QoS 1) and each Command on its topic, through the outbox
// that a Command is stored with (pipeline/command-delivery.ts: a crash before the publish
// delivers it after the restart). Only what the id index did not already hold is published:
// the same decision made again by a rebuild or a replay is neither stored nor delivered twice.
import { eventOf, type EventDraft } from '../events/types.js';
import type { Appender } from '../pipeline/appender.js';
import type { CommandDelivery } from '../pipeline/command-delivery.js';
import type { Logger } from '../util/log.js';
import type { AlertIntent } from './alerts.js';

export interface OutboxOptions {
  appender: Appender;
  publish: (topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;
  /** Publishes stored Commands and takes them out of the outbox. */
  commands: CommandDelivery;
  /** Called for each emission stored (not for the duplicates a replay makes). */
  onStored?: (alert: AlertIntent) => void;
  log: Logger;
}

/** Which of an emission's drafts were stored anew: the emission first, then its actions' Commands. */
type Stored = readonly boolean[];

export class AlertOutbox {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly opts: OutboxOptions) {}

  /**
   * The append starts at once, so emissions decided together share one group commit; their
   * deliveries still happen one after another, in the order they were decided.
   */
  push(alert: AlertIntent): void {
    this.pending++;
    const stored = this.store(alert);
    this.chain = this.chain.then(() => stored.then((s) => (s === null ? undefined : this.deliver(alert, s)))).finally(() => this.pending--);
  }

  get queued(): number {
    return this.pending;
  }

  /** Resolves when everything pushed so far has been handled. */
  drained(): Promise<void> {
    return this.chain;
  }

  private async store(alert: AlertIntent): Promise<Stored | null> {
    const { appender } = this.opts;
    // Submitted in one turn, so into the one group being built: one atomic write.
    const appends = [appender.append(alert.draft)];
    for (const a of alert.actions) appends.push(appender.append(a.draft));
    try {
      return await Promise.all(appends);
    } catch (err) {
      // Not stored, so not delivered: the rule state moved on, and a rebuild from the log
      // after the store recovers decides it again.
      this.opts.log.error({ err, rule: alert.rule.id, group: alert.group, state: alert.state }, `${alert.draft.type} could not be stored`);
      return null;
    }
  }

  private async deliver(alert: AlertIntent, stored: Stored): Promise<void> {
    const { publish, log } = this.opts;
    const { draft } = alert;
    if (stored[0]) {
      this.opts.onStored?.(alert);
      if (draft.type === 'Alert') log.info({ rule: alert.rule.id, group: alert.group, state: alert.state, id: draft.id }, `alert ${alert.state}: ${String(draft.payload.message)}`);
      else log.info({ rule: alert.rule.id, group: alert.group, id: draft.id, topic: alert.topic }, `${draft.type} emitted`);
      if (draft.delivery) await this.opts.commands.deliver(draft);
      else {
        try {
          await publish(alert.topic, localBody(draft), { qos: 1, retain: false });
        } catch (err) {
          log.error({ err, rule: alert.rule.id, topic: alert.topic }, `${draft.type} stored but not published locally`);
        }
      }
    }
    // A Command is published when it is first stored, whatever became of its emission: the
    // log and what devices were sent stay the same story.
    for (let i = 0; i < alert.actions.length; i++) {
      if (stored[i + 1]) await this.opts.commands.deliver(alert.actions[i].draft);
    }
  }
}

/** What goes on an emission's local topic: the event as JSON (a Command's goes through its delivery). */
function localBody(draft: EventDraft): Buffer {
  return Buffer.from(JSON.stringify(eventOf(draft as EventDraft & { seq: number; id: string; version: number })));
}
