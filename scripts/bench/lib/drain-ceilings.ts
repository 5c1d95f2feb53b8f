// The two ceilings a drain is measured against, on the same events: reading them out of
// LevelDB as fast as classic-level allows (values().nextv(1000) over the log), and
// publishing the same batches, encoded beforehand, to the same mosquitto with MQTT.js.
import mqtt from 'mqtt';
import { performance } from 'node:perf_hooks';
import { EventStore, storeDir } from '../../../src/store/event-store.js';
import { StoredItem } from '../../../src/upstream/event-head.js';
import { CONTENT_TYPES, encodeBatch, envelopeBytes, itemBytes, type BatchItem } from '../../../src/upstream/batch-encoding.js';

export interface ScanResult {
  events: number;
  seconds: number;
  perSecond: number;
}

/** Reads the whole log of a (closed) data dir, values only, 1000 at a time. */
export async function scanCeiling(dataDir: string): Promise<ScanResult> {
  const store = await EventStore.open(storeDir(dataDir));
  try {
    let events = 0;
    const t0 = performance.now();
    const it = store.log.values();
    try {
      for (;;) {
        const chunk = await it.nextv(1000);
        if (chunk.length === 0) break;
        events += chunk.length;
      }
    } finally {
      await it.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    return { events, seconds, perSecond: events / seconds };
  } finally {
    await store.close();
  }
}

/** The batches the daemon would send (same maxEvents and maxBytes), encoded once, up to `limit` events. */
export async function encodeBatches(dataDir: string, maxEvents: number, maxBytes: number, gatewayId: string, limit: number): Promise<{ batches: Buffer[]; events: number }> {
  const store = await EventStore.open(storeDir(dataDir));
  const batches: Buffer[] = [];
  let events = 0;
  const corrected = (): string => '2026-12-03T04:00:00.000Z';
  let items: BatchItem[] = [];
  let bytes = envelopeBytes(gatewayId);
  const flush = (): void => {
    if (items.length === 0) return;
    batches.push(encodeBatch('cbor', gatewayId, batches.length + 1, items, corrected));
    events += items.length;
    items = [];
    bytes = envelopeBytes(gatewayId);
  };
  try {
    const it = store.log.values({ limit });
    try {
      for (;;) {
        const chunk = await it.nextv(1000);
        if (chunk.length === 0) break;
        for (const v of chunk) {
          const item: BatchItem = StoredItem.of(v);
          const size = itemBytes(item, 'cbor');
          if (items.length >= maxEvents || (items.length > 0 && bytes + size > maxBytes)) flush();
          items.push(item);
          bytes += size;
        }
      }
    } finally {
      await it.close();
    }
    flush();
  } finally {
    await store.close();
  }
  return { batches, events };
}

/** Publishes the batches QoS 1 with `inflight` awaiting PUBACK at once, as the forwarder does. */
export async function publishCeiling(port: number, topic: string, batches: readonly Buffer[], events: number, inflight: number): Promise<ScanResult> {
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0, clientId: `bench-drain-pub-${process.pid}` });
  try {
    const t0 = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batches.length) {
        const b = batches[next++];
        await client.publishAsync(topic, b, { qos: 1, properties: { contentType: CONTENT_TYPES.cbor } });
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
    const seconds = (performance.now() - t0) / 1000;
    return { events, seconds, perSecond: events / seconds };
  } finally {
    await client.endAsync();
  }
}
