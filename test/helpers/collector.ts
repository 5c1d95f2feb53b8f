// The cloud side of a forwarding test: an MQTT 5 subscriber on the upstream broker that
// decodes every batch (CBOR or JSON) and keeps what arrived, in arrival order.
import { decode } from 'cbor-x';
import mqtt, { type MqttClient } from 'mqtt';
import type { EdgeEvent } from '../../src/events/types.js';
import { waitFor } from './wait.js';

export interface ReceivedBatch {
  /** The topic it arrived on (routes send batches to several). */
  topic: string;
  gatewayId: string;
  batch: number;
  events: EdgeEvent[];
  contentType: string | undefined;
}

export interface Collector {
  batches: ReceivedBatch[];
  /** Called as each batch arrives, before anything else runs: a test can react to the flow. */
  onBatch: ((b: ReceivedBatch) => void) | null;
  /** Every event received, in arrival order (duplicates included). */
  events(): EdgeEvent[];
  /** Waits until every seq in `seqs` has arrived at least once. */
  waitForSeqs(seqs: Iterable<number>, timeout?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCollector(url: string, topic: string, opts: { protocolVersion?: 4 | 5 } = {}): Promise<Collector> {
  const client: MqttClient = await mqtt.connectAsync(url, { protocolVersion: opts.protocolVersion ?? 5, reconnectPeriod: 0, connectTimeout: 5_000 });
  const batches: ReceivedBatch[] = [];
  client.on('message', (topic, payload, packet) => {
    const contentType = packet.properties?.contentType;
    const body = (contentType === 'application/json' || payload[0] === 0x7b ? JSON.parse(payload.toString()) : decode(payload)) as Omit<ReceivedBatch, 'contentType' | 'topic'>;
    const batch = { ...body, topic, contentType };
    batches.push(batch);
    collector.onBatch?.(batch);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  const events = () => batches.flatMap((b) => b.events);
  const collector: Collector = {
    batches,
    onBatch: null,
    events,
    async waitForSeqs(seqs, timeout = 20_000) {
      const want = [...seqs];
      await waitFor(() => {
        const got = new Set(events().map((e) => e.seq));
        return want.every((s) => got.has(s));
      }, { timeout, message: `${want.length} events upstream (have ${new Set(events().map((e) => e.seq)).size})` });
    },
    close: () => client.endAsync(),
  };
  return collector;
}

/** The seqs in order of first arrival: what the cloud sees once it drops redeliveries. */
export function firstArrivals(events: readonly EdgeEvent[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const e of events) {
    if (seen.has(e.seq)) continue;
    seen.add(e.seq);
    out.push(e.seq);
  }
  return out;
}
