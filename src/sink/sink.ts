// `edgebus sink` (README "Fleets" › "The sink"): batches from the cloud broker into PostgreSQL, exactly
// once by (gateway_id, id). A batch is PUBACKed only after its transaction commits, under
// persistent sessions with stable client ids (one per connection, sink/member.ts): a copy
// killed before COMMIT gets the batch again when it returns (or, on brokers that do so,
// another copy does), and the insert skips what an earlier delivery already wrote.
import { createServer, type Server } from 'node:http';
import { decodeBatch } from '../batch/decode.js';
import { verifyBatch } from '../batch/verify.js';
import type { Batch } from '../batch/types.js';
import type { SinkConfig } from '../config/types.js';
import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { SinkMetrics } from './metrics.js';
import { GroupMember, type BatchHandler } from './member.js';
import { memberClientIds } from './mqtt-options.js';
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
  private members: GroupMember[] = [];
  private http: Server | null = null;
  private readonly writer: SinkWriter;
  private stopping = false;
  /** Batches waiting out a PostgreSQL backoff: stop() wakes them to give up (unacknowledged). */
  private readonly waiting = new Set<() => void>();
  /** False from a failed write until the next success: a sink that has written nothing yet is healthy. */
  private postgresOk = true;

  constructor(private readonly config: SinkConfig, private readonly log: Logger) {
    this.writer = new SinkWriter(config, (err) => log.warn({ err: err.message }, 'sink: idle PostgreSQL connection failed'));
  }

  /** Serves /metrics and /healthz, then connects; resolves with the HTTP port once both listen. */
  async start(): Promise<{ httpPort: number }> {
    const httpPort = await this.serveHttp();
    const handle: BatchHandler = (topic, payload, contentType) => this.handle(topic, payload, contentType);
    const onLink = (): void => { this.metrics.connected.set(this.members.filter((m) => m.connected).length); };
    this.members = memberClientIds(this.config).map((clientId) => new GroupMember({ config: this.config, clientId, handle, log: this.log, onLink }));
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
      const wake = (): void => { clearTimeout(timer); this.waiting.delete(wake); resolve(); };
      const timer = setTimeout(wake, delay);
      this.waiting.add(wake);
    });
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
        const broker = this.members.length > 0 && this.members.every((m) => m.connected);
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
    this.log.info({ waitingOutRetry: this.waiting.size }, 'sink: stopping, finishing the batches in hand');
    for (const wake of [...this.waiting]) wake();
    await Promise.all(this.members.map((m) => m.stop()));
    await this.writer.close().catch(() => {});
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
  }
}
