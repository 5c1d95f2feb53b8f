// `edgebus sink` (README "Fleets" › "The sink"): batches from the cloud broker into PostgreSQL, exactly
// once by (gateway_id, id). A batch is PUBACKed only after its transaction commits, under a
// persistent session and a stable client id: a copy killed before COMMIT gets the batch
// again when it returns (or, on brokers that do so, another copy does), and the insert skips
// what an earlier delivery already wrote.
import { createServer, type Server } from 'node:http';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { decodeBatch } from '../batch/decode.js';
import { verifyBatch } from '../batch/verify.js';
import type { Batch } from '../batch/types.js';
import type { SinkConfig } from '../config/types.js';
import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { SinkMetrics } from './metrics.js';
import { brokerOptions, sharedFilter } from './mqtt-options.js';
import { isDataError, SinkWriter } from './writer.js';

/** What to do with one message: write its events, or keep it as a dead letter. */
type Outcome = { batch: Batch } | { reason: string };

export function readMessage(payload: Buffer, contentType: string | undefined): Outcome {
  try {
    const batch = decodeBatch(payload, contentType);
    const problems = verifyBatch(batch);
    if (problems.length === 0) return { batch };
    return { reason: problems.map((p) => `${p.path}: ${p.message}`).join('; ') };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}

export class Sink {
  readonly metrics = new SinkMetrics();
  private client: MqttClient | null = null;
  private http: Server | null = null;
  private readonly writer: SinkWriter;
  private stopping = false;
  /** The message being written, if any: stop() lets it finish (and be acknowledged). */
  private current: Promise<void> = Promise.resolve();
  private wakeRetry: (() => void) | null = null;
  /** False from a failed write until the next success: a sink that has written nothing yet is healthy. */
  private postgresOk = true;

  constructor(private readonly config: SinkConfig, private readonly log: Logger) {
    this.writer = new SinkWriter(config, (err) => log.warn({ err: err.message }, 'sink: idle PostgreSQL connection failed'));
  }

  /** Serves /metrics and /healthz, then connects; resolves with the HTTP port once both listen. */
  async start(): Promise<{ httpPort: number }> {
    const httpPort = await this.serveHttp();
    const c = this.config;
    const client = mqtt.connect(c.url, {
      ...brokerOptions(c),
      clientId: c.clientId,
      clean: false,
      properties: { sessionExpiryInterval: Math.round(c.sessionExpiry / 1000), receiveMaximum: c.inflight },
      resubscribe: false,
      // Called for every QoS 1 batch; `ack` sends the PUBACK, and nothing else may until it does.
      customHandleAcks: (topic: string, payload: Buffer, packet: IPublishPacket, ack: (err: Error | number, code?: number) => void) => {
        this.current = this.handle(topic, payload, packet.properties?.contentType).then((acknowledge) => {
          if (acknowledge) ack(0);
        }, (err: Error) => {
          // Not acknowledged: the broker sends it again when this copy reconnects.
          this.log.error({ err: err.message, topic }, 'sink: batch not handled');
        });
      },
    });
    this.client = client;
    client.on('connect', (connack) => {
      this.metrics.connected.set(1);
      this.log.info({ clientId: c.clientId, sessionPresent: connack.sessionPresent }, 'sink: connected');
      if (!connack.sessionPresent) {
        client.subscribeAsync(sharedFilter(c), { qos: 1 }).catch((err: Error) => this.log.error({ err: err.message }, 'sink: subscribe failed'));
      }
    });
    // A batch published at QoS 0 arrives at QoS 0 and bypasses customHandleAcks: it is
    // written all the same (with nothing to acknowledge), never dropped unseen.
    client.on('message', (topic, payload, packet) => {
      if (packet.qos === 0) this.current = this.handle(topic, payload, packet.properties?.contentType).then(() => {}, (err: Error) => this.log.error({ err: err.message, topic }, 'sink: batch not handled'));
    });
    client.on('close', () => this.metrics.connected.set(0));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'sink: broker connection error'));
    return { httpPort };
  }

  /** True once the message may be acknowledged: written, or recorded as a dead letter. */
  private async handle(topic: string, payload: Buffer, contentType: string | undefined): Promise<boolean> {
    const outcome = readMessage(payload, contentType);
    if ('reason' in outcome) return this.reject(topic, payload, contentType, outcome.reason);
    const retry = new Backoff(this.config.retry);
    while (!this.stopping) {
      try {
        const { inserted, duplicates } = await this.writer.writeBatch(outcome.batch);
        this.up(true);
        this.metrics.batches.inc({ outcome: 'written' });
        this.metrics.inserted.inc(inserted);
        this.metrics.duplicates.inc(duplicates);
        return true;
      } catch (err) {
        if (isDataError(err)) return this.reject(topic, payload, contentType, `PostgreSQL refused the rows: ${(err as Error).message}`);
        await this.failed(err, retry, { gatewayId: outcome.batch.gatewayId, batch: outcome.batch.batch });
      }
    }
    return false;
  }

  private async reject(topic: string, payload: Buffer, contentType: string | undefined, reason: string): Promise<boolean> {
    this.log.warn({ topic, reason, bytes: payload.length }, 'sink: batch rejected, kept as a dead letter');
    const retry = new Backoff(this.config.retry);
    while (!this.stopping) {
      try {
        await this.writer.recordRejected({ topic, contentType: contentType ?? null, reason, payload });
        this.up(true);
        this.metrics.batches.inc({ outcome: 'rejected' });
        return true;
      } catch (err) {
        await this.failed(err, retry, { topic });
      }
    }
    return false;
  }

  /** PostgreSQL failed: no PUBACK, wait with backoff (cut short by stop()). */
  private async failed(err: unknown, retry: Backoff, about: Record<string, unknown>): Promise<void> {
    this.up(false);
    this.metrics.writeErrors.inc();
    const delay = retry.next();
    this.log.warn({ ...about, err: (err as Error).message, retryInMs: delay }, 'sink: PostgreSQL write failed, batch not acknowledged');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wakeRetry = () => { clearTimeout(timer); resolve(); };
    });
    this.wakeRetry = null;
  }

  private up(ok: boolean): void {
    this.postgresOk = ok;
    this.metrics.postgresUp.set(ok ? 1 : 0);
  }

  private serveHttp(): Promise<number> {
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        this.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(text);
        }, (err: Error) => { res.writeHead(500); res.end(err.message); });
      } else if (req.url === '/healthz') {
        const broker = this.client?.connected === true;
        const postgres = this.postgresOk;
        res.writeHead(broker && postgres ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ broker, postgres }));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    this.http = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.http.port, this.config.http.host, () => {
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.config.http.port);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeRetry?.();
    await this.current;
    await this.client?.endAsync();
    await this.writer.close().catch(() => {});
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
  }
}
