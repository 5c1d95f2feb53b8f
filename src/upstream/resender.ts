// Sending stored events outside the forwarder's cursor (SPEC §1): one dead-lettered event
// offered again (`dlq retry`), or a range of the log (`replay --to upstream`). Neither moves
// the cursor: what they send has been acknowledged before, or was refused.
import { encodeValue } from '../events/codec.js';
import type { EdgeEvent } from '../events/types.js';
import type { EventStore } from '../store/event-store.js';
import { readEvent, readRange } from '../store/log-range.js';
import type { BatchItem } from './batch-encoding.js';
import { StoredItem } from './event-head.js';
import type { BatchPacker, Packed } from './batch-packing.js';
import type { PublishOutcome } from './link.js';

export interface ResenderOptions {
  store: EventStore;
  link: { readonly connected: boolean };
  maxEvents: number;
  packer: () => BatchPacker;
  /** Publishes one batch with the forwarder's next batch number. */
  publish: (items: readonly BatchItem[]) => Promise<PublishOutcome>;
  forwarded: (n: number) => void;
}

export class Resender {
  constructor(private readonly opts: ResenderOptions) {}

  /** Offers one dead-lettered event to upstream again, as a batch of its own. */
  async resend(event: EdgeEvent): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (!this.opts.link.connected) return { ok: false, reason: 'upstream link is down' };
    const stored = await readEvent(this.opts.store, event.seq);
    const outcome = await this.opts.publish([StoredItem.withEvent(stored ?? encodeValue(event), event)]);
    if (outcome.ok) {
      this.opts.forwarded(1);
      return outcome;
    }
    return { ok: false, reason: `upstream refused it again: ${outcome.reason} (reason code 0x${outcome.reasonCode.toString(16)})` };
  }

  /** Re-sends stored events [from, to] upstream, in batches, in order. */
  async replay(from: number, to: number, onProgress: (sent: number) => void = () => {}): Promise<number> {
    const { store, link, maxEvents } = this.opts;
    let sent = 0;
    let next = from;
    while (next <= to) {
      if (!link.connected) throw new Error('upstream link is down');
      const batch: Packed = { items: [], expired: 0 };
      const packer = this.opts.packer();
      const entries = await readRange(store, next, to, maxEvents);
      if (entries.length === 0) break;
      let last = next;
      for (const [seq, bytes] of entries) {
        // Replay sends what fits; what never can is already in the DLQ from the first time.
        if (packer.offer(batch, bytes) === 'full') break;
        last = seq;
      }
      next = last + 1;
      if (batch.items.length === 0) continue;
      const outcome = await this.opts.publish(batch.items);
      if (!outcome.ok) throw new Error(`upstream refused a replay batch: ${outcome.reason}`);
      sent += batch.items.length;
      onProgress(sent);
    }
    return sent;
  }
}
