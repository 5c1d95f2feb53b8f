// One round of the sink benchmark: the bulk-insert ceiling, then one sink copy, then two,
// each into an empty table of its own on the same PostgreSQL, each copy phase with a fresh
// mosquitto (so no earlier phase's session or shared subscription is left to queue for).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import pg from 'pg';
import { stringify } from 'yaml';
import { createTableSql } from '../../../src/sink/table.js';
import { cpuSeconds, makeTempDir, removeTempDir, stop, track, type Tracked } from './children.js';
import { EDGEBUS_BIN, shebangFlags } from './edgebus-bin.js';
import { freePort, waitForPort } from './ports.js';
import type { BenchLoad } from './sink-batches.js';
import { MOSQUITTO_BIN } from './targets.js';

export interface PhaseResult {
  events: number;
  seconds: number;
  perSecond: number;
}

export interface CopyPhase extends PhaseResult {
  copies: number;
  /** Events each copy inserted: a share far from even means the broker did not spread the load. */
  perCopy: number[];
  duplicates: number;
  /** CPU the copies used per 1,000 events over the phase, in ms: steadier than rates on a shared machine. */
  cpuMsPer1000: number;
  /** The same for PostgreSQL (server and backends) and for mosquitto. */
  postgresCpuMsPer1000: number;
  brokerCpuMsPer1000: number;
  /** Cores used, on average from the first publish to the last commit, by the copies, PostgreSQL and mosquitto together. */
  cores: number;
}

const POLL_MS = 20;
const PHASE_TIMEOUT_MS = 600_000;

/** The same rows in an identical empty table, by the fastest bulk path available: multi-row INSERT … unnest in large chunks. */
export async function bulkInsertCeiling(url: string, table: string, load: BenchLoad, chunk: number): Promise<PhaseResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const sql of createTableSql(table)) await client.query(sql);
    const r = load.rows;
    const sql = `INSERT INTO ${table} (gateway_id, id, seq, source, type, "timestamp", corrected_timestamp, payload)
      SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::jsonb[])`;
    const chunks: unknown[][] = [];
    for (let at = 0; at < load.events; at += chunk) {
      const s = (a: readonly unknown[]): unknown[] => a.slice(at, at + chunk);
      chunks.push([s(r.gatewayIds), s(r.ids), s(r.seqs), s(r.sources), s(r.types), s(r.times), s(r.corrected), s(r.payloads)]);
    }
    const t0 = performance.now();
    await client.query('BEGIN');
    for (const params of chunks) await client.query(sql, params);
    await client.query('COMMIT');
    const seconds = (performance.now() - t0) / 1000;
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    if (Number(rows[0].n) !== load.events) throw new Error(`ceiling: ${rows[0].n} rows in ${table}, expected ${load.events}`);
    return { events: load.events, seconds, perSecond: load.events / seconds };
  } finally {
    await client.end();
  }
}

/** The rows as CSV, every field quoted: what COPY … FROM reads in the ceiling. */
export function rowsCsv(load: BenchLoad): string {
  const r = load.rows;
  const q = (v: string | number): string => `"${String(v).replace(/"/g, '""')}"`;
  const lines = new Array<string>(load.events);
  for (let i = 0; i < load.events; i++) {
    lines[i] = `${q(r.gatewayIds[i])},${q(r.ids[i])},${r.seqs[i]},${q(r.sources[i])},${q(r.types[i])},${q(r.times[i])},${q(r.corrected[i])},${q(r.payloads[i])}`;
  }
  return lines.join('\n') + '\n';
}

/**
 * The ceiling: a plain server-side `COPY … FROM` file of the same rows into an
 * identical empty table (the pg client has no COPY FROM STDIN of its own, and
 * pg-copy-streams is not a dependency). No client in the loop at all: the server parsing,
 * converting and indexing the rows is the most any writer could get out of it.
 */
export async function copyCeiling(url: string, table: string, file: string, events: number): Promise<PhaseResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const sql of createTableSql(table)) await client.query(sql);
    const t0 = performance.now();
    const res = await client.query(`COPY ${table} (gateway_id, id, seq, source, type, "timestamp", corrected_timestamp, payload) FROM '${file}' WITH (FORMAT csv)`);
    const seconds = (performance.now() - t0) / 1000;
    if (res.rowCount !== events) throw new Error(`COPY ceiling: ${res.rowCount} rows copied, expected ${events}`);
    return { events, seconds, perSecond: events / seconds };
  } finally {
    await client.end();
  }
}

interface Copy {
  t: Tracked;
  metricsUrl: string;
}

async function startMosquitto(dir: string): Promise<{ t: Tracked; port: number }> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // No queue limit: every batch is published before the copies have taken them, and the
  // default (1000 per client) would drop some at large --events.
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_queued_bytes 0\n`);
  const t = track(spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitForPort(port, t, { timeoutMs: 20_000, everyMs: 50, name: 'mosquitto' });
  return { t, port };
}

/** The sink's settings a phase overrides; null keeps the shipped default. */
export interface CopySettings {
  inflight: number | null;
  connections: number | null;
}

async function startCopy(dir: string, n: number, brokerPort: number, pgUrl: string, table: string, settings: CopySettings): Promise<Copy> {
  const port = await freePort();
  const clientId = `bench-sink-${n}`;
  const file = join(dir, `${clientId}.yaml`);
  writeFileSync(file, stringify({
    log: { level: 'warn', format: 'json' },
    sink: {
      url: `mqtt://127.0.0.1:${brokerPort}`, clientId, group: 'bench', table, postgres: { url: pgUrl },
      http: { host: '127.0.0.1', port },
      ...(settings.inflight === null ? {} : { inflight: settings.inflight }),
      ...(settings.connections === null ? {} : { connections: settings.connections }),
    },
  }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEBUS_')));
  const t = track(spawn(process.execPath, [...shebangFlags(), EDGEBUS_BIN, 'sink', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const healthUrl = `http://127.0.0.1:${port}/healthz`;
  const deadline = Date.now() + 20_000;
  while ((await fetch(healthUrl).catch(() => null))?.status !== 200) {
    if (t.child.exitCode !== null) throw new Error(`sink copy ${n} exited with code ${t.child.exitCode}:\n${t.output()}`);
    if (Date.now() > deadline) throw new Error(`sink copy ${n} not healthy within 20 s:\n${t.output()}`);
    await sleep(50);
  }
  return { t, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

function counter(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function counters(c: Copy): Promise<{ inserted: number; duplicates: number; written: number }> {
  const text = await (await fetch(c.metricsUrl)).text();
  const written = /^edgebus_sink_batches_total\{outcome="written"\} (\S+)$/m.exec(text);
  return { inserted: counter(text, 'edgebus_sink_events_inserted_total'), duplicates: counter(text, 'edgebus_sink_events_duplicate_total'), written: written ? Number(written[1]) : 0 };
}

/**
 * Publishes probe batches (one event each, a gateway of their own) until every copy has
 * written one: proof that each copy's shared subscription is in place before the load.
 */
async function warmUp(pub: mqtt.MqttClient, copies: readonly Copy[], contentType: string, probe: (n: number) => Buffer): Promise<number> {
  const deadline = Date.now() + 20_000;
  let n = 0;
  for (;;) {
    const seen = await Promise.all(copies.map(counters));
    if (seen.every((s) => s.written > 0)) return n;
    if (Date.now() > deadline) throw new Error(`sink copies did not all take a probe batch within 20 s (written: ${seen.map((s) => s.written).join(', ')})`);
    await pub.publishAsync('edgebus/bench-probe/events', probe(++n), { qos: 1, properties: { contentType } });
    await sleep(100);
  }
}

export async function sinkPhase(opts: { copies: number; pgUrl: string; pgCpu: () => number; table: string; load: BenchLoad; settings: CopySettings; probe: (n: number) => Buffer }): Promise<CopyPhase> {
  const dir = makeTempDir('edgebus-bench-sink-');
  const live: Tracked[] = [];
  let pub: mqtt.MqttClient | null = null;
  try {
    const broker = await startMosquitto(dir);
    live.push(broker.t);
    const copies: Copy[] = [];
    for (let i = 1; i <= opts.copies; i++) {
      const c = await startCopy(dir, i, broker.port, opts.pgUrl, opts.table, opts.settings);
      copies.push(c);
      live.push(c.t);
    }
    pub = await mqtt.connectAsync({ host: '127.0.0.1', port: broker.port, protocolVersion: 5, reconnectPeriod: 0, clientId: 'bench-sink-publisher' });
    const probes = await warmUp(pub, copies, opts.load.contentType, opts.probe);
    const base = await Promise.all(copies.map(counters));
    const baseInserted = base.reduce((s, c) => s + c.inserted, 0);
    const cpu0 = copies.map((c) => cpuOf(c.t));
    const pg0 = opts.pgCpu();
    const broker0 = cpuOf(broker.t);
    const wall0 = performance.now();
    // Everything is published at once (QoS 1, the broker queues): the copies, not the publisher, set the pace.
    // Settled into a value at once: a failed publish is reported after the wait, not as an unhandled rejection during it.
    const published = Promise.all(opts.load.batches.map((b) => pub!.publishAsync(b.topic, b.payload, { qos: 1, properties: { contentType: opts.load.contentType } }))).then(() => null, (err: unknown) => err as Error);
    // The rate runs from the first poll that sees rows to the one that sees them all; what
    // was in before that first poll is left out of the count as well as the time.
    let first = 0;
    let atFirst = 0;
    let last = 0;
    let now: Awaited<ReturnType<typeof counters>>[] = base;
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    for (;;) {
      now = await Promise.all(copies.map(counters));
      const inserted = now.reduce((s, c) => s + c.inserted, 0) - baseInserted;
      const duplicates = now.reduce((s, c, i) => s + c.duplicates - base[i].duplicates, 0);
      const t = performance.now();
      if (first === 0 && inserted > 0) { first = t; atFirst = inserted + duplicates; }
      if (inserted + duplicates >= opts.load.events) { last = t; break; }
      if (Date.now() > deadline) throw new Error(`sink phase (${opts.copies} copies): ${inserted} of ${opts.load.events} events after ${PHASE_TIMEOUT_MS / 1000} s`);
      await sleep(POLL_MS);
    }
    const cpu = copies.reduce((s, c, i) => s + cpuOf(c.t) - cpu0[i], 0);
    const pgCpu = opts.pgCpu() - pg0;
    const brokerCpu = cpuOf(broker.t) - broker0;
    const wall = (performance.now() - wall0) / 1000;
    const publishError = await published;
    if (publishError !== null) throw publishError;
    const perCopy = now.map((c, i) => c.inserted - base[i].inserted);
    const duplicates = now.reduce((s, c, i) => s + c.duplicates - base[i].duplicates, 0);
    // All in by the first poll that saw any (a tiny load): then time it from the first publish.
    const allAtOnce = atFirst >= opts.load.events;
    const seconds = ((allAtOnce ? last - wall0 : last - first) / 1000);
    const timed = allAtOnce ? opts.load.events : opts.load.events - atFirst;
    const rows = await countRows(opts.pgUrl, opts.table);
    if (rows !== opts.load.events + probes) throw new Error(`sink phase: ${rows} rows in ${opts.table}, expected ${opts.load.events} + ${probes} probes`);
    return { copies: opts.copies, events: opts.load.events, seconds, perSecond: timed / seconds, perCopy, duplicates, cpuMsPer1000: (cpu * 1000) / (opts.load.events / 1000),
      postgresCpuMsPer1000: (pgCpu * 1000) / (opts.load.events / 1000), brokerCpuMsPer1000: (brokerCpu * 1000) / (opts.load.events / 1000),
      cores: (cpu + pgCpu + brokerCpu) / wall };
  } finally {
    await pub?.endAsync().catch(() => {});
    for (const t of live.reverse()) await stop(t);
    removeTempDir(dir);
  }
}

function cpuOf(t: Tracked): number {
  return t.child.pid === undefined ? 0 : cpuSeconds(t.child.pid);
}

async function countRows(url: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}
