// Commands reach their devices through the local broker (a device on `cmd/<device>`, or the
// serial adapter that writes to one). A Command with a `delivery` is stored with its outbox
// entry in one commit (store/outbox.ts); this publishes it once that commit is durable and
// then takes the entry out. A crash between the commit and the publish leaves the entry, and
// the next start publishes it: a stored Command is never lost. A crash between the publish and
// the entry's removal sends that one Command again after the restart — at least once, the
// only choice that loses nothing when the device cannot say what it received.
import type { EventDraft, LocalDelivery } from '../events/types.js';
import type { EventStore } from '../store/event-store.js';
import { deliveryDone, pendingDeliveries } from '../store/outbox.js';
import type { Logger } from '../util/log.js';

export type LocalPublish = (topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;

export interface CommandDeliveryOptions {
  store: EventStore;
  publish: LocalPublish;
  /** The store's durability: whether an entry's removal is synced. */
  sync: boolean;
  log: Logger;
}

export class CommandDelivery {
  /** One publish at a time, so Commands reach a device in the order they were stored. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: CommandDeliveryOptions) {}

  /** Publishes a Command the appender has just stored (its `seq` is set). */
  deliver(command: EventDraft): Promise<void> {
    const { delivery } = command;
    const seq = (command as EventDraft & { seq?: number }).seq;
    if (!delivery || seq === undefined) return Promise.resolve();
    return this.enqueue(seq, delivery, command.id);
  }

  /**
   * What a crash left in the outbox — the entries through `through`, the last seq stored
   * before this start — published oldest first once `ready` settles (the serial devices have
   * tried their ports). Called at once at start: a Command stored meanwhile waits behind
   * them, and is not among them (its own deliver() publishes it).
   */
  redeliverLeftovers(through: number, ready: Promise<void>): Promise<number> {
    const run = this.chain.then(async () => {
      await ready;
      let n = 0;
      try {
        for await (const p of pendingDeliveries(this.opts.store, through)) {
          n++;
          await this.publishOne(p.seq, p.delivery, null);
        }
      } catch (err) {
        this.opts.log.error({ err }, 'the outbox could not be read: its commands wait for the next start');
      }
      if (n > 0) this.opts.log.warn({ commands: n }, `${n} stored command(s) not yet published before the last stop: publishing them now`);
      return n;
    });
    this.chain = run.then(() => undefined);
    return run;
  }

  /** Resolves when every publish asked for so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  private enqueue(seq: number, delivery: LocalDelivery, id: string | null): Promise<void> {
    const run = this.chain.then(() => this.publishOne(seq, delivery, id));
    this.chain = run;
    return run;
  }

  private async publishOne(seq: number, d: LocalDelivery, id: string | null): Promise<void> {
    const { store, publish, sync, log } = this.opts;
    try {
      await publish(d.topic, d.payload, { qos: d.qos, retain: d.retain });
    } catch (err) {
      // The entry stays: the next start publishes it.
      log.error({ err, seq, id, topic: d.topic }, 'command stored but not published locally: it will be at the next start');
      return;
    }
    try {
      await deliveryDone(store, seq, sync);
    } catch (err) {
      log.error({ err, seq, id }, 'command published, but its outbox entry could not be removed: the next start publishes it again');
    }
  }
}
