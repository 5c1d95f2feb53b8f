// Prometheus metrics of SPEC §7. One registry per daemon (no global), so several daemons
// can run in one test process.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventStore } from '../store/event-store.js';
import type { EventBus } from '../pipeline/bus.js';

export interface MetricsSources {
  store: EventStore;
  bus: EventBus;
  /** The log's last seq, from the appender (no DB read per scrape). */
  lastSeq: () => number;
  dlqSize: () => number;
  /** The forwarder's figures; null when the gateway is store-only. */
  upstream: () => UpstreamFigures | null;
  /** Free bytes on the store's file system, measured now; null when unknown. */
  diskFreeBytes?: () => Promise<number | null>;
}

export interface UpstreamFigures {
  connected: boolean;
  backlog: number;
  oldestUnsentSeconds: () => Promise<number>;
  /** Monotonic totals since start. */
  forwarded: number;
  retries: number;
  expired: number;
  batches: number;
}

/** A counter read from a running total at scrape time (prom-client counters only go up). */
function totalCounter(name: string, help: string, registers: Registry[], read: () => number | undefined): Counter {
  let seen = 0;
  return new Counter({
    name, help, registers,
    collect(this: Counter) {
      const now = read() ?? seen;
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

export class Metrics {
  readonly registry = new Registry();
  readonly ingested: Counter<'type'>;
  readonly rejected: Counter<'reason'>;
  readonly duplicates: Counter;
  readonly storeWrites: Counter;
  readonly storeWriteErrors: Counter;
  readonly stage: Histogram<'stage'>;
  readonly evicted: Counter<'priority'>;
  readonly pruned: Counter;
  readonly ruleAlerts: Counter<'rule' | 'state'>;
  readonly refusals: Counter<'reason'>;
  readonly jobs: Counter<'job' | 'result'>;
  readonly clockSteps: Counter;

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.ingested = new Counter({ name: 'edgebus_events_ingested_total', help: 'Events appended to the log, by type', labelNames: ['type'], registers });
    this.rejected = new Counter({ name: 'edgebus_events_rejected_total', help: 'Payloads kept in the rejected store, by reason', labelNames: ['reason'], registers });
    this.duplicates = new Counter({ name: 'edgebus_events_duplicate_total', help: 'Events acknowledged and dropped as duplicates', registers });
    this.storeWrites = new Counter({ name: 'edgebus_store_writes_total', help: 'LevelDB batch writes (group commits)', registers });
    this.storeWriteErrors = new Counter({ name: 'edgebus_store_write_errors_total', help: 'Group commits that failed; their publishes were not acknowledged', registers });
    this.stage = new Histogram({
      name: 'edgebus_stage_seconds', help: 'Time spent per pipeline stage: commit (batch write) and ack (submission to acknowledgement) per commit group, rules (evaluation of one group), forward (upstream batch publish to PUBACK)', labelNames: ['stage'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    // Read from the store at scrape time: while it is closed (a reopen after a failed write
    // that failed too, as on a full disk) the gauge keeps its last value, and the scrape
    // still answers — the write error counter is what the operator needs then.
    new Gauge({
      name: 'edgebus_store_events', help: 'Events in the log', registers,
      collect: async function (this: Gauge) {
        const n = await src.store.eventCount(src.lastSeq()).catch(() => null);
        if (n !== null) this.set(n);
      },
    });
    new Gauge({
      name: 'edgebus_store_bytes', help: 'Approximate size of the store on disk', registers,
      collect: async function (this: Gauge) {
        const n = await src.store.approximateBytes().catch(() => null);
        if (n !== null) this.set(n);
      },
    });
    new Gauge({
      name: 'edgebus_disk_free_bytes', help: 'Free bytes on the file system of the store (what edgebus may use); eviction starts under store.minFree', registers,
      collect: async function (this: Gauge) {
        const free = src.diskFreeBytes ? await src.diskFreeBytes() : null;
        if (free !== null) this.set(free);
      },
    });
    new Gauge({
      name: 'edgebus_dlq_events', help: 'Entries in the rejected store / dead-letter queue', registers,
      collect(this: Gauge) {
        this.set(src.dlqSize());
      },
    });
    new Gauge({
      name: 'edgebus_upstream_connected', help: '1 while the upstream link is up, 0 otherwise (always 0 when store-only)', registers,
      collect(this: Gauge) {
        this.set(src.upstream()?.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'edgebus_upstream_backlog_events', help: 'Events stored but not yet acknowledged upstream', registers,
      collect(this: Gauge) {
        this.set(src.upstream()?.backlog ?? 0);
      },
    });
    new Gauge({
      name: 'edgebus_upstream_oldest_unsent_seconds', help: 'Age of the oldest event not yet acknowledged upstream (by its event time, on the gateway clock)', registers,
      collect: async function (this: Gauge) {
        const up = src.upstream();
        const n = up ? await up.oldestUnsentSeconds().catch(() => null) : 0;
        if (n !== null) this.set(n);
      },
    });
    totalCounter('edgebus_upstream_forwarded_total', 'Events acknowledged by the upstream broker', registers, () => src.upstream()?.forwarded);
    totalCounter('edgebus_upstream_retries_total', 'Reconnect attempts and refused batches sent again', registers, () => src.upstream()?.retries);
    totalCounter('edgebus_upstream_expired_total', 'Events not forwarded because their ttl had passed', registers, () => src.upstream()?.expired);
    totalCounter('edgebus_upstream_batches_total', 'Batches acknowledged by the upstream broker', registers, () => src.upstream()?.batches);
    this.evicted = new Counter({ name: 'edgebus_store_evicted_total', help: 'Unforwarded events evicted to keep the store under store.maxBytes or its file system over store.minFree free, by priority', labelNames: ['priority'], registers });
    this.ruleAlerts = new Counter({ name: 'edgebus_rule_alerts_total', help: 'Alerts stored, by rule and state (raised, cleared)', labelNames: ['rule', 'state'], registers });
    this.pruned = new Counter({ name: 'edgebus_store_pruned_total', help: 'Forwarded events pruned past store.retention', registers });
    this.refusals = new Counter({ name: 'edgebus_broker_refusals_total', help: 'Connections, sign-ins, publishes and subscriptions the broker refused, by reason', labelNames: ['reason'], registers });
    this.jobs = new Counter({ name: 'edgebus_jobs_total', help: 'Runs of the scheduled jobs (prune, heartbeat), by job and result (ok, failed)', labelNames: ['job', 'result'], registers });
    this.clockSteps = new Counter({ name: 'edgebus_clock_steps_total', help: 'Steps of the wall clock seen while running (one made while the daemon was down is recorded at start as a clock-step SystemEvent only)', registers });
    this.attach(src.bus);
  }

  private attach(bus: EventBus): void {
    bus.on('metrics', 'appended', (events) => {
      // Count per type once per group, not once per event.
      let type = events[0].type;
      let n = 0;
      for (const e of events) {
        if (e.type !== type) {
          this.ingested.inc({ type }, n);
          type = e.type;
          n = 0;
        }
        n++;
      }
      this.ingested.inc({ type }, n);
    });
    bus.on('metrics', 'rejected', (r) => this.rejected.inc({ reason: r.reason }));
    bus.on('metrics', 'storeError', () => this.storeWriteErrors.inc());
    bus.on('metrics', 'pruned', (n) => this.pruned.inc(n));
    bus.on('metrics', 'refused', (r) => this.refusals.inc({ reason: r.reason }));
    bus.on('metrics', 'jobRun', (j) => this.jobs.inc({ job: j.job, result: j.ok ? 'ok' : 'failed' }));
    bus.on('metrics', 'clockChanged', (c) => {
      if (c.kind === 'step') this.clockSteps.inc();
    });
    bus.on('metrics', 'alert', (a) => this.ruleAlerts.inc({ rule: a.rule, state: a.state }));
    bus.on('metrics', 'evicted', (e) => {
      for (const [priority, n] of Object.entries(e.byPriority)) if (n > 0) this.evicted.inc({ priority }, n);
    });
    bus.on('metrics', 'committed', (c) => {
      this.storeWrites.inc();
      if (c.duplicates) this.duplicates.inc(c.duplicates);
      this.stage.observe({ stage: 'commit' }, c.writeSeconds);
      this.stage.observe({ stage: 'ack' }, c.ackSeconds);
    });
    bus.on('metrics', 'rulesEvaluated', (r) => this.stage.observe({ stage: 'rules' }, r.seconds));
    bus.on('metrics', 'batchAcknowledged', (b) => this.stage.observe({ stage: 'forward' }, b.seconds));
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
