// Prometheus metrics of SPEC §7. One registry per daemon (no global), so several daemons
// can run in one test process. Counts are kept as plain numbers (metric-values.ts) and
// prom-client, with its Node process metrics, is loaded on the first scrape: an idle gateway
// that nobody scrapes does not carry it. The process metrics that sample over time (GC
// durations, event-loop lag) therefore start at the first scrape; the edgebus_* ones and the
// CPU totals count from the start.
import type { Counter, Gauge, Registry } from 'prom-client';
import type { EventStore } from '../store/event-store.js';
import type { EventBus } from '../pipeline/bus.js';
import { PlainHistogram, Totals } from './metric-values.js';

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

/** prom-client's Prometheus text content type (the registry's default), known before it is loaded. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type PromClient = typeof import('prom-client');

export class Metrics {
  private readonly ingested = new Totals<'type'>();
  private readonly rejected = new Totals<'reason'>();
  private readonly duplicates = new Totals();
  private readonly storeWrites = new Totals();
  private readonly storeWriteErrors = new Totals();
  private readonly evicted = new Totals<'priority'>();
  private readonly pruned = new Totals();
  private readonly ruleAlerts = new Totals<'rule' | 'state'>();
  private readonly refusals = new Totals<'reason'>();
  private readonly jobs = new Totals<'job' | 'result'>();
  private readonly clockSteps = new Totals();
  private readonly stage = new PlainHistogram<'stage'>(
    'edgebus_stage_seconds',
    'Time spent per pipeline stage: commit (batch write) and ack (submission to acknowledgement) per commit group, rules (evaluation of one group), forward (upstream batch publish to PUBACK)',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  private registry: Promise<Registry> | null = null;

  constructor(private readonly src: MetricsSources) {
    this.attach(src.bus);
  }

  /** Whether prom-client has been loaded (by a first scrape). */
  get loaded(): boolean {
    return this.registry !== null;
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
    bus.on('metrics', 'storeError', () => this.storeWriteErrors.inc({}));
    bus.on('metrics', 'pruned', (n) => this.pruned.inc({}, n));
    bus.on('metrics', 'refused', (r) => this.refusals.inc({ reason: r.reason }));
    bus.on('metrics', 'jobRun', (j) => this.jobs.inc({ job: j.job, result: j.ok ? 'ok' : 'failed' }));
    bus.on('metrics', 'clockChanged', (c) => {
      if (c.kind === 'step') this.clockSteps.inc({});
    });
    bus.on('metrics', 'alert', (a) => this.ruleAlerts.inc({ rule: a.rule, state: a.state }));
    bus.on('metrics', 'evicted', (e) => {
      for (const [priority, n] of Object.entries(e.byPriority)) if (n > 0) this.evicted.inc({ priority }, n);
    });
    bus.on('metrics', 'committed', (c) => {
      this.storeWrites.inc({});
      if (c.duplicates) this.duplicates.inc({}, c.duplicates);
      this.stage.observe({ stage: 'commit' }, c.writeSeconds);
      this.stage.observe({ stage: 'ack' }, c.ackSeconds);
    });
    bus.on('metrics', 'rulesEvaluated', (r) => this.stage.observe({ stage: 'rules' }, r.seconds));
    bus.on('metrics', 'batchAcknowledged', (b) => this.stage.observe({ stage: 'forward' }, b.seconds));
  }

  /** The Prometheus text of every metric; the first call loads prom-client. */
  async text(): Promise<string> {
    this.registry ??= import('prom-client').then((prom) => this.build(prom));
    const registry = await this.registry;
    // prom-client separates metrics by a blank line and ends with a newline.
    return `${await registry.metrics()}\n${this.stage.text()}\n`;
  }

  get contentType(): string {
    return CONTENT_TYPE;
  }

  private build(prom: PromClient): Registry {
    const { src } = this;
    const registry = new prom.Registry();
    const registers = [registry];
    // prom-client counts CPU time from this call on; what the process used before it (the
    // start, and all the time nobody scraped) is added once, so the totals stay since start.
    const cpuBefore = process.cpuUsage();
    prom.collectDefaultMetrics({ register: registry });
    const cpuCounter = (name: string) => registry.getSingleMetric(name) as Counter | undefined;
    cpuCounter('process_cpu_user_seconds_total')?.inc(cpuBefore.user / 1e6);
    cpuCounter('process_cpu_system_seconds_total')?.inc(cpuBefore.system / 1e6);
    cpuCounter('process_cpu_seconds_total')?.inc((cpuBefore.user + cpuBefore.system) / 1e6);
    /** A counter that reads a Totals at scrape time. */
    const totals = <L extends string>(name: string, help: string, labelNames: L[], values: Totals<L>): void => {
      new prom.Counter<L>({
        name, help, labelNames, registers,
        collect(this: Counter<L>) {
          this.reset();
          for (const e of values.entries()) this.inc(e.labels as Partial<Record<L, string>>, e.value);
        },
      });
    };
    /** A counter read from a running total at scrape time (prom-client counters only go up). */
    const running = (name: string, help: string, read: () => number | undefined): void => {
      let seen = 0;
      new prom.Counter({
        name, help, registers,
        collect(this: Counter) {
          const now = read() ?? seen;
          if (now > seen) this.inc(now - seen);
          seen = now;
        },
      });
    };
    totals('edgebus_events_ingested_total', 'Events appended to the log, by type', ['type'], this.ingested);
    totals('edgebus_events_rejected_total', 'Payloads kept in the rejected store, by reason', ['reason'], this.rejected);
    totals('edgebus_events_duplicate_total', 'Events acknowledged and dropped as duplicates', [], this.duplicates);
    totals('edgebus_store_writes_total', 'LevelDB batch writes (group commits)', [], this.storeWrites);
    totals('edgebus_store_write_errors_total', 'Group commits that failed; their publishes were not acknowledged', [], this.storeWriteErrors);
    // Read from the store at scrape time: while it is closed (a reopen after a failed write
    // that failed too, as on a full disk) the gauge keeps its last value, and the scrape
    // still answers — the write error counter is what the operator needs then.
    new prom.Gauge({
      name: 'edgebus_store_events', help: 'Events in the log', registers,
      collect: async function (this: Gauge) {
        const n = await src.store.eventCount(src.lastSeq()).catch(() => null);
        if (n !== null) this.set(n);
      },
    });
    new prom.Gauge({
      name: 'edgebus_store_bytes', help: 'Approximate size of the store on disk', registers,
      collect: async function (this: Gauge) {
        const n = await src.store.approximateBytes().catch(() => null);
        if (n !== null) this.set(n);
      },
    });
    new prom.Gauge({
      name: 'edgebus_disk_free_bytes', help: 'Free bytes on the file system of the store (what edgebus may use); eviction starts under store.minFree', registers,
      collect: async function (this: Gauge) {
        const free = src.diskFreeBytes ? await src.diskFreeBytes() : null;
        if (free !== null) this.set(free);
      },
    });
    new prom.Gauge({
      name: 'edgebus_dlq_events', help: 'Entries in the rejected store / dead-letter queue', registers,
      collect(this: Gauge) {
        this.set(src.dlqSize());
      },
    });
    new prom.Gauge({
      name: 'edgebus_upstream_connected', help: '1 while the upstream link is up, 0 otherwise (always 0 when store-only)', registers,
      collect(this: Gauge) {
        this.set(src.upstream()?.connected ? 1 : 0);
      },
    });
    new prom.Gauge({
      name: 'edgebus_upstream_backlog_events', help: 'Events stored but not yet acknowledged upstream', registers,
      collect(this: Gauge) {
        this.set(src.upstream()?.backlog ?? 0);
      },
    });
    new prom.Gauge({
      name: 'edgebus_upstream_oldest_unsent_seconds', help: 'Age of the oldest event not yet acknowledged upstream (by its event time, on the gateway clock)', registers,
      collect: async function (this: Gauge) {
        const up = src.upstream();
        const n = up ? await up.oldestUnsentSeconds().catch(() => null) : 0;
        if (n !== null) this.set(n);
      },
    });
    running('edgebus_upstream_forwarded_total', 'Events acknowledged by the upstream broker', () => src.upstream()?.forwarded);
    running('edgebus_upstream_retries_total', 'Reconnect attempts and refused batches sent again', () => src.upstream()?.retries);
    running('edgebus_upstream_expired_total', 'Events not forwarded because their ttl had passed', () => src.upstream()?.expired);
    running('edgebus_upstream_batches_total', 'Batches acknowledged by the upstream broker', () => src.upstream()?.batches);
    totals('edgebus_store_evicted_total', 'Unforwarded events evicted to keep the store under store.maxBytes or its file system over store.minFree free, by priority', ['priority'], this.evicted);
    totals('edgebus_rule_alerts_total', 'Alerts stored, by rule and state (raised, cleared)', ['rule', 'state'], this.ruleAlerts);
    totals('edgebus_store_pruned_total', 'Forwarded events pruned past store.retention', [], this.pruned);
    totals('edgebus_broker_refusals_total', 'Connections, sign-ins, publishes and subscriptions the broker refused, by reason', ['reason'], this.refusals);
    totals('edgebus_jobs_total', 'Runs of the scheduled jobs (prune, heartbeat), by job and result (ok, failed)', ['job', 'result'], this.jobs);
    totals('edgebus_clock_steps_total', 'Steps of the wall clock seen while running (one made while the daemon was down is recorded at start as a clock-step SystemEvent only)', [], this.clockSteps);
    return registry;
  }
}
