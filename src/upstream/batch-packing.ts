// Filling one batch: events in log order until `maxEvents`, `maxBytes` or the broker's
// Maximum Packet Size says stop; events past their ttl are left out (and counted); an event
// no packet the broker accepts could carry is set aside for the dead-letter queue.
import type { EdgeEvent } from '../events/types.js';
import type { BatchUpstreamConfig } from '../config/types.js';
import { envelopeBytes, itemBytes, type BatchItem } from './batch-encoding.js';
import { StoredItem } from './event-head.js';

export type Verdict = 'added' | 'skipped' | 'full' | 'too-large';

/** The part of a batch packing fills. */
export interface Packed {
  items: BatchItem[];
  /** Events left out because their ttl had passed. */
  expired: number;
}

export class BatchPacker {
  /** Bytes left for events in this batch. */
  private bytes: number;
  /** The most event bytes one PUBLISH may carry. */
  private readonly packetLimit: number;
  /** Events too large for any packet: for the dead-letter queue. */
  readonly tooLarge: BatchItem[] = [];

  private readonly format: BatchUpstreamConfig['format'];

  /**
   * @param now the gateway clock
   * @param timeOf an event's time on the gateway clock: a ttl counts from it
   * @param topicBytes the longest topic a batch may go out on (routes: see upstream-routing.ts)
   */
  constructor(config: Pick<BatchUpstreamConfig, 'format' | 'topic' | 'batch'>, gatewayId: string, maxPacketSize: number | null,
    private readonly now: number, private readonly timeOf: (e: EdgeEvent) => number, topicBytes = Buffer.byteLength(config.topic)) {
    this.format = config.format;
    const envelope = envelopeBytes(gatewayId);
    // The PUBLISH around the batch: fixed header, topic, packet id, properties.
    this.packetLimit = (maxPacketSize ?? Infinity) - envelope - topicBytes - 64;
    this.bytes = Math.min(config.batch.maxBytes - envelope, this.packetLimit);
  }

  /**
   * Adds a stored event to the batch unless its ttl has passed. 'full' when the batch has
   * no room for it; 'too-large' when no packet the broker accepts could ever hold it.
   */
  offer(batch: Packed, bytes: Uint8Array): Verdict {
    return this.offerItem(batch, StoredItem.of(bytes));
  }

  /** The same for an event whose head was read already. */
  offerItem(batch: Packed, item: StoredItem): Verdict {
    const ttl = item.head.ttl;
    if (ttl !== null && ttl !== undefined) {
      const t = this.timeOf(item.event);
      if (Number.isFinite(t) && t + ttl * 1000 < this.now) {
        batch.expired++;
        return 'skipped';
      }
    }
    const size = itemBytes(item, this.format);
    if (size > this.packetLimit) {
      this.tooLarge.push(item);
      return 'too-large';
    }
    // An event larger than the batch budget still goes, alone, if the broker takes the packet.
    if (batch.items.length > 0 && size > this.bytes) return 'full';
    this.bytes -= size;
    batch.items.push(item);
    return 'added';
  }
}
