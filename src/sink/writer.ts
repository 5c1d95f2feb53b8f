// PostgreSQL for the sink: one transaction per batch, so a batch's events land together or
// not at all, and the caller acknowledges the batch only after COMMIT.
import pg from 'pg';
import type { Batch } from '../batch/types.js';
import type { SinkConfig } from '../config/types.js';
import { CREATE_LOCK_SQL, createTableSql, insertEventsSql, insertRejectedSql } from './table.js';

export interface WriteResult {
  inserted: number;
  duplicates: number;
}

export interface RejectedBatch {
  topic: string;
  contentType: string | null;
  reason: string;
  payload: Buffer;
}

/**
 * An error PostgreSQL raised about the rows themselves (SQLSTATE classes 22, data
 * exception, and 23, integrity): writing the batch again would fail again, so it is a
 * dead letter rather than a retry. Anything else (connection lost, server shutting down)
 * is worth retrying.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

export class SinkWriter {
  private readonly pool: pg.Pool;
  private readonly insertEvents: string;
  private readonly insertRejected: string;
  /** Set while the tables are being created, so batches arriving together create them once. */
  private creating: Promise<void> | null = null;
  private tablesReady = false;

  constructor(private readonly config: SinkConfig, onIdleError: (err: Error) => void) {
    // One transaction per batch in flight, and a copy has one batch in flight per broker
    // connection (sink/member.ts): as many PostgreSQL connections, so none waits for another.
    // Named after the copy in pg_stat_activity, unless PGAPPNAME or the URL names it.
    const application_name = process.env.PGAPPNAME ?? `edgebus-sink ${config.clientId}`;
    this.pool = new pg.Pool({ application_name, ...config.postgres, max: config.connections, connectionTimeoutMillis: 5_000 });
    // A server that goes away while a connection idles must not crash the sink.
    this.pool.on('error', onIdleError);
    this.insertEvents = insertEventsSql(config.table);
    this.insertRejected = insertRejectedSql(config.table);
  }

  async writeBatch(batch: Batch): Promise<WriteResult> {
    const n = batch.events.length;
    const result = await this.transaction((c) => c.query(this.insertEvents, [batch.gatewayId, JSON.stringify(batch.events)]));
    const inserted = result.rowCount ?? 0;
    return { inserted, duplicates: n - inserted };
  }

  async recordRejected(r: RejectedBatch): Promise<void> {
    await this.transaction((c) => c.query(this.insertRejected, [r.topic, r.contentType, r.reason, r.payload]));
  }

  private async transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ensureTables();
    const c = await this.pool.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      const out = await work(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => { broken = true; });
      // A table dropped under the sink comes back on the next attempt.
      if ((err as { code?: unknown }).code === '42P01') this.tablesReady = false;
      throw err;
    } finally {
      c.release(broken);
    }
  }

  /** Creates the tables on first use (and after they went missing). */
  private async ensureTables(): Promise<void> {
    if (this.tablesReady) return;
    this.creating ??= this.createTables().finally(() => { this.creating = null; });
    await this.creating;
  }

  private async createTables(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(CREATE_LOCK_SQL);
      for (const sql of createTableSql(this.config.table)) await c.query(sql);
      await c.query('COMMIT');
      this.tablesReady = true;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
