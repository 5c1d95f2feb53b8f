// The outbox of Commands: a Command that must be published on the local broker (where a
// device on `cmd/<device>`, or the serial adapter writing to it, reads it) is kept here under
// its seq, written in the batch that stores the event, and taken out once it is published.
// What a crash leaves between the two is published after the restart (pipeline/command-delivery.ts).
import type { LocalDelivery } from '../events/types.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, seqKey } from './keys.js';
import type { WriteBatch } from './write-batch.js';

interface StoredDelivery {
  topic: string;
  /** base64 */
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

export function putDelivery(batch: WriteBatch, prefix: string, seq: string, d: LocalDelivery): void {
  const stored: StoredDelivery = { topic: d.topic, payload: d.payload.toString('base64'), qos: d.qos, retain: d.retain };
  batch.put(prefix + seq, JSON.stringify(stored));
}

export interface PendingDelivery {
  seq: number;
  delivery: LocalDelivery;
}

/** What is still to be published through `through`, in log order. Few entries: only what a crash interrupted. */
export async function* pendingDeliveries(store: EventStore, through: number): AsyncGenerator<PendingDelivery> {
  for await (const [key, value] of store.outbox.iterator({ lte: seqKey(through) })) {
    const s = JSON.parse(value) as StoredDelivery;
    yield { seq: parseSeqKey(key), delivery: { topic: s.topic, payload: Buffer.from(s.payload, 'base64'), qos: s.qos, retain: s.retain } };
  }
}

/** Takes a published Command out; `sync` as the store's durability says. */
export async function deliveryDone(store: EventStore, seq: number, sync: boolean): Promise<void> {
  // Through the handle, with the sublevel's prefix: a sublevel's del takes no `sync`.
  await store.db.del(store.outbox.prefix + seqKey(seq), { sync });
}

export async function countPendingDeliveries(store: EventStore): Promise<number> {
  let n = 0;
  for await (const _ of store.outbox.keys()) n++;
  return n;
}
