// What arrives at the cloud broker: a subscriber on mosquitto that counts the events of
// every batch (from the CBOR array head, without decoding them) and notes when the first
// batch and the batch carrying the live alert arrive.
import mqtt, { type MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';

/** `"events"` as a CBOR text string: the key in front of a batch's event array. */
const EVENTS_KEY = Buffer.from([0x66, ...Buffer.from('events')]);

/** Items in the CBOR array head at `at`. */
function arrayLength(b: Buffer, at: number): number {
  const head = b[at];
  if (head >= 0x80 && head < 0x98) return head - 0x80;
  if (head === 0x98) return b[at + 1];
  if (head === 0x99) return b.readUInt16BE(at + 1);
  if (head === 0x9a) return b.readUInt32BE(at + 1);
  throw new Error(`not a CBOR array head: 0x${head.toString(16)}`);
}

export class BatchSubscriber {
  events = 0;
  batches = 0;
  /** Lowest batch number seen: above 1 on a fresh store means batches left before we subscribed. */
  firstBatchNumber: number | null = null;
  firstBatchAt: number | null = null;
  alertAt: number | null = null;
  private waiters: { count: number; resolve: () => void }[] = [];
  private constructor(private readonly client: MqttClient, private readonly marker: Buffer) {}

  static async open(port: number, topic: string, marker: string): Promise<BatchSubscriber> {
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion: 5, reconnectPeriod: 0, clientId: `bench-drain-sub-${process.pid}` });
    const sub = new BatchSubscriber(client, Buffer.from(marker));
    client.on('message', (_topic, payload) => sub.take(payload));
    // QoS 0: mosquitto forwards at once, with no queue limit for a subscriber that keeps up.
    await client.subscribeAsync(topic, { qos: 0 });
    return sub;
  }

  private take(payload: Buffer): void {
    const now = performance.now();
    this.firstBatchAt ??= now;
    const at = payload.indexOf(EVENTS_KEY);
    if (at < 0) return;
    this.events += arrayLength(payload, at + EVENTS_KEY.length);
    this.batches++;
    // `batch` is the map's second key: 0x65 "batch", then a CBOR unsigned integer.
    const b = payload.indexOf('batch');
    if (b > 0) {
      const head = payload[b + 5];
      const n = head < 0x18 ? head : head === 0x18 ? payload[b + 6] : head === 0x19 ? payload.readUInt16BE(b + 6) : head === 0x1a ? payload.readUInt32BE(b + 6) : NaN;
      if (this.firstBatchNumber === null || n < this.firstBatchNumber) this.firstBatchNumber = n;
    }
    if (this.alertAt === null && payload.includes(this.marker)) this.alertAt = now;
    if (this.waiters.length) {
      const due = this.waiters.filter((w) => this.events >= w.count);
      this.waiters = this.waiters.filter((w) => this.events < w.count);
      for (const w of due) w.resolve();
    }
  }

  /** Resolves once `count` events have arrived. */
  reached(count: number): Promise<void> {
    if (this.events >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
