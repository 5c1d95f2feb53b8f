// The composition root: builds the components from the config, starts them in order,
// stops them in reverse.
import type { AddressInfo } from 'node:net';
import type { Config } from './config/types.js';
import { Broker } from './ingest/broker.js';
import { BrokerAccess } from './ingest/broker-access.js';
import { TopicRouter } from './ingest/topics.js';
import { HttpApi, type Health } from './http/server.js';
import { Metrics } from './http/metrics.js';
import { History, historyIntervalMs } from './http/history.js';
import { IngestRate } from './http/rate.js';
import { heartbeatDraft } from './jobs/heartbeat.js';
import { DiskWatch } from './jobs/disk-watch.js';
import { maintainStore, type MaintenanceResult } from './jobs/store-maintenance.js';
import { Scheduler } from './jobs/scheduler.js';
import { Appender } from './pipeline/appender.js';
import type { EventStore } from './store/event-store.js';
import { storeErrorReason } from './store/write-errors.js';
import { openOrQuarantine, quarantineDraft } from './store/quarantine.js';
import { nativeBatchUnavailable } from './store/write-batch.js';
import { countRejected, purgeRejected } from './store/rejected.js';
import { redrive, type RedriveOutcome } from './usecases/dlq-retry.js';
import { parseReplayFrom, ReplayArgumentError, replayStart, type ReplayFrom } from './store/replay-from.js';
import { Upstream } from './upstream/upstream.js';
import { RulesService } from './rules/rules-service.js';
import { DevicesService } from './devices/devices-service.js';
import { EventBus } from './pipeline/bus.js';
import { removeRuntime, writeRuntime } from './util/runtime-file.js';
import type { Logger } from './util/log.js';
import { version } from './version.js';
import { ClockService } from './pipeline/clock-service.js';
import type { ClockChange } from './time/clock.js';

export interface DaemonAddresses {
  broker: AddressInfo;
  http: AddressInfo;
}

export class Daemon {
  readonly bus = new EventBus();
  /** Events appended per second over the last minute, for `status` (on the gateway clock once started). */
  private ingestRate: IngestRate | null = null;
  private health: Health = 'starting';
  /** Why health is not ok, when known: the failed write's system error. */
  private healthReason: string | null = null;
  private clocks: ClockService | null = null;
  private store: EventStore | null = null;
  private appender: Appender | null = null;
  private broker: Broker | null = null;
  private http: HttpApi | null = null;
  private history: History | null = null;
  private scheduler: Scheduler | null = null;
  private disk: DiskWatch | null = null;
  /** What the prune job did last; the disk watcher asks whether it evicted anything. */
  private lastMaintenance: MaintenanceResult | null = null;
  private metrics: Metrics | null = null;
  private upstream: Upstream | null = null;
  private rules: RulesService | null = null;
  private devices: DevicesService | null = null;
  private readonly router: TopicRouter;
  private startedAt = 0;
  private dlqSize = 0;
  private addrs: DaemonAddresses | null = null;

  constructor(readonly config: Config, private readonly log: Logger, private readonly configFile: string | null = null) {
    this.router = new TopicRouter(config.ingest);
  }

  get addresses(): DaemonAddresses {
    if (!this.addrs) throw new Error('daemon not started');
    return this.addrs;
  }

  async start(): Promise<DaemonAddresses> {
    const { config, log, bus } = this;
    // A corrupt or unreadable store is moved aside and a fresh one opened (SPEC §8).
    const opened = await openOrQuarantine(config.dataDir, log);
    const store = (this.store = opened.store);
    // A classic-level upgrade that moved what the native batch relies on costs speed, not
    // data: the fallback commits the same, slower. Said once, with what moved.
    const noNativeBatch = nativeBatchUnavailable(store.db);
    if (noNativeBatch) log.warn({ reason: noNativeBatch }, `store: no native write batch (${noNativeBatch}): commits go through abstract-level's public batch, slower (npm ci installs the classic-level this edgebus was tested with)`);
    this.dlqSize = [...(await countRejected(store)).values()].reduce((a, b) => a + b, 0);
    const clocks = (this.clocks = await ClockService.open(store, config.clock.sync, log));
    const { clock } = clocks;
    this.startedAt = clock.now();
    this.ingestRate = new IngestRate(60, () => clock.now()).attachedTo(bus, 'status');
    const appender = (this.appender = new Appender({
      store, bus, gatewayId: config.gatewayId, durability: config.store.durability,
      reorderWindow: config.store.reorderWindow, dedupWindow: config.store.dedupWindow,
      clock, timeline: clocks.log.timeline,
      // The broker is built after the appender (it submits to it): bind its sockets late.
      settling: { begin: () => this.broker?.settling.begin(), end: () => this.broker?.settling.end() },
    }));
    await appender.init();
    this.watchPipeline();
    clocks.watchChanges((change) => this.clockChanged(change));
    if (opened.quarantined) await appender.append(quarantineDraft(config.gatewayId, opened.quarantined, clock.now()));
    const disk = (this.disk = new DiskWatch({ dir: store.dir, minFree: config.store.minFree, log, onLow: () => this.diskLow() }));
    await disk.read();
    this.metrics = new Metrics({
      store, bus, lastSeq: () => appender.seq, dlqSize: () => this.dlqSize,
      diskFreeBytes: () => disk.read().then((s) => s.freeBytes, () => null),
      upstream: () => {
        const up = this.upstream;
        if (up === null) return null;
        const c = up.counters;
        return {
          connected: up.link.connected, backlog: up.forwarder.backlog, oldestUnsentSeconds: () => up.forwarder.oldestUnsentSeconds(),
          forwarded: c.forwarded, retries: c.retries + c.reconnects, expired: c.expired, batches: c.batches,
        };
      },
    });
    // The dashboard's last hour: the same upstream figures as status(), sampled on a timer.
    const history = (this.history = new History({
      bus, intervalMs: historyIntervalMs(), now: () => clock.now(), wall: Date.now,
      sample: async () => ({
        backlog: this.upstream?.forwarder.backlog ?? 0,
        upstreamConnected: this.upstream ? this.upstream.link.connected : null,
        storeBytes: await store.approximateBytes(),
      }),
    }));
    history.start();
    this.http = new HttpApi({
      host: config.http.host, port: config.http.port, token: config.http.token, store, metrics: this.metrics,
      health: () => this.health, healthReason: () => this.healthReason, status: () => this.status(), history: () => history.snapshot(), log,
      timeline: appender.timeline,
      clock: () => ({ now: clock.now(), wall: clock.wall(), offset: clock.offset, quality: clock.quality, segments: appender.timeline.segments }),
      actions: {
        dlqRetry: (ids) => this.dlqRetry(ids),
        dlqPurge: async (ids) => {
          const n = await purgeRejected(store, ids);
          this.dlqSize = Math.max(0, this.dlqSize - n);
          return n;
        },
        replay: (from, to, progress) => this.replay(from, to, progress),
      },
    });
    const http = await this.http.start();
    const access = new BrokerAccess({
      users: config.broker.users, allowAnonymous: config.broker.allowAnonymous, limits: config.broker.limits, log,
      onRefusal: (reason) => bus.emit('refused', { reason }),
    }, () => clock.now());
    const localBroker = (this.broker = new Broker({
      host: config.broker.host, port: config.broker.port, maxPayload: config.broker.maxPayload,
      router: this.router, appender, access, tls: config.broker.tls, now: () => clock.now(),
    }));
    // Before the broker listens: the rule state is rebuilt from the log first, so the first
    // new reading meets the windows it would have met without the restart.
    this.rules = new RulesService({
      rulesDir: config.rulesDir, gatewayId: config.gatewayId, store, bus, appender, log,
      publish: (topic, payload, opts) => localBroker.publishLocal(topic, payload, opts),
    });
    await this.rules.start();
    const broker = await this.broker.start();
    this.devices = new DevicesService({
      devicesDir: config.devicesDir, aedes: localBroker.aedes, appender, log, now: () => clock.now(),
      publishLocal: (topic, payload, opts) => localBroker.publishLocal(topic, payload, opts),
    });
    await this.devices.start();
    if (config.upstream) {
      this.upstream = new Upstream({
        config: config.upstream, gatewayId: config.gatewayId, version, store, bus, appender, log,
        deliverLocal: (topic, payload) => localBroker.publishLocal(topic, payload),
      });
      await this.upstream.start();
    }
    this.scheduler = new Scheduler(log, { onRun: (job, ok) => bus.emit('jobRun', { job, ok }) });
    this.scheduler.add({
      name: 'prune', schedule: config.schedules.prune,
      run: async () => (this.lastMaintenance = await maintainStore({
        store, appender, bus, log, gatewayId: config.gatewayId, retentionMs: config.store.retention, maxBytes: config.store.maxBytes,
        disk: disk.bound(),
        forwardedThrough: () => this.upstream?.forwarder.acknowledgedThrough ?? appender.committedSeq,
      })),
    });
    this.scheduler.add({ name: 'heartbeat', schedule: config.schedules.heartbeat, run: () => this.heartbeat() });
    await disk.start();
    this.addrs = { broker, http };
    writeRuntime(config.dataDir, {
      pid: process.pid, startedAt: new Date().toISOString(),
      http: { host: http.address, port: http.port }, broker: { host: broker.address, port: broker.port },
    });
    this.health = 'ok';
    log.info({
      version, gatewayId: config.gatewayId, config: this.configFile ?? 'built-in defaults',
      broker: `mqtt://${broker.address}:${broker.port}`, brokerPort: broker.port,
      http: `http://${http.address}:${http.port}`, httpPort: http.port,
      dataDir: config.dataDir, rulesDir: config.rulesDir, devicesDir: config.devicesDir,
      upstream: config.upstream?.url ?? 'none (store-only)', durability: config.store.durability, lastSeq: appender.seq,
    }, `edgebus ready: broker mqtt://${broker.address}:${broker.port}, http http://${http.address}:${http.port}, data ${config.dataDir}, upstream ${config.upstream?.url ?? 'none (store-only)'}`);
    return this.addrs;
  }

  /** The wall clock stepped, or its quality changed (see time/watch.ts). */
  private clockChanged(change: ClockChange): void {
    this.appender?.clockChanged(change);
    if (change.kind === 'step') this.scheduler?.replan();
    this.bus.emit('clockChanged', change);
  }

  /**
   * Free space is under store.minFree: the prune job now, not at its slot. Health stays ok
   * while writes succeed — low space is a reason to evict, not to refuse publishes; status
   * and edgebus_disk_free_bytes show it. While the store is unavailable nothing can be
   * deleted, so nothing is tried; the appender's reopen loop brings it back once space
   * returns.
   */
  private async diskLow(): Promise<boolean> {
    const scheduler = this.scheduler;
    if (scheduler === null || this.health !== 'ok') return true;
    // A run already going (its slot came) acts on the same free space: wait for it instead.
    if (!(await scheduler.runNow('prune'))) return true;
    return this.lastMaintenance?.eviction != null;
  }

  private watchPipeline(): void {
    this.bus.on('daemon', 'rejected', (r) => {
      this.dlqSize++;
      this.log.warn({ topic: r.topic, reason: r.reason, detail: r.detail, clientId: r.clientId }, 'payload rejected');
    });
    this.bus.on('daemon', 'storeError', (err) => {
      if (this.health === 'ok') this.health = 'store-unavailable';
      if (this.health === 'store-unavailable') this.healthReason = storeErrorReason(err);
      this.log.error({ err }, 'store write failed; publishes in that group were not acknowledged');
    });
    this.bus.on('daemon', 'storeRecovered', () => {
      if (this.health === 'store-unavailable') {
        this.health = 'ok';
        this.healthReason = null;
      }
      this.log.warn('store reopened; accepting publishes again');
    });
  }

  private async dlqRetry(ids: string[] | null): Promise<RedriveOutcome[]> {
    const { store, appender } = this;
    if (store === null || appender === null) throw new Error('daemon not started');
    const up = this.upstream;
    const results = await redrive({
      store, router: this.router, appender,
      resendUpstream: up ? (event) => up.forwarder.resender.resend(event) : null,
    }, ids);
    this.dlqSize = Math.max(0, this.dlqSize - results.filter((r) => r.ok).length);
    return results;
  }

  private async replay(fromText: string, to: string, progress: (sent: number) => void): Promise<number> {
    const from = parseReplayFrom(fromText);
    if (to === 'rules') return this.replayToRules(fromText, from, progress);
    if (to !== 'upstream') throw new ReplayArgumentError(`--to: expected upstream or rules, got ${JSON.stringify(to)}`);
    const { upstream: up, store, appender } = this;
    if (up === null || store === null || appender === null) throw new ReplayArgumentError('--to upstream: no upstream is configured');
    const through = up.forwarder.acknowledgedThrough;
    const start = await replayStart(store, from, through, appender.timeline);
    if (start > through) return 0;
    this.log.info({ from: fromText, fromSeq: start, toSeq: through }, 'replaying stored events upstream');
    return up.forwarder.resender.replay(start, through, progress);
  }

  /**
   * Re-runs stored events through the rules (a fresh engine with the loaded rules): alerts
   * they decided before keep their ids and are dropped; new ones are stored and delivered.
   * `checkpoint` is where the live rules stand: the log's end.
   */
  private async replayToRules(fromText: string, from: ReplayFrom, progress: (n: number) => void): Promise<number> {
    const { rules, store, appender } = this;
    if (rules === null || store === null || appender === null) throw new Error('daemon not started');
    const through = appender.committedSeq;
    const start = await replayStart(store, from, through, appender.timeline);
    if (start > through) return 0;
    this.log.info({ from: fromText, fromSeq: start, toSeq: through }, 'replaying stored events through the rules');
    return rules.replay(start, through, progress);
  }

  private async heartbeat(): Promise<void> {
    const appender = this.appender;
    if (appender === null || this.health !== 'ok') return;
    const up = this.upstream ? await this.upstream.status() : null;
    await appender.append(heartbeatDraft(this.config.gatewayId, {
      uptimeSeconds: this.uptimeSeconds(),
      lastSeq: appender.seq,
      storeBytes: this.store ? await this.store.approximateBytes() : 0,
      dlqEvents: this.dlqSize,
      clients: this.broker?.connectedClients ?? 0,
      upstreamConnected: up?.connected ?? false,
      backlog: up?.backlog ?? 0,
      oldestUnsentSeconds: up?.oldestUnsentSeconds ?? 0,
      forwarded: up?.forwarded ?? 0,
    }, appender.clock.now()));
  }

  private uptimeSeconds(): number {
    return this.clocks === null ? 0 : Math.round((this.clocks.clock.now() - this.startedAt) / 1000);
  }

  private async diskStatus(): Promise<{ freeBytes: number; minFree: number; low: boolean } | null> {
    if (this.disk === null) return null;
    try {
      const { freeBytes, minFree, low } = await this.disk.read();
      return { freeBytes, minFree, low };
    } catch {
      return null;
    }
  }

  async status(): Promise<object> {
    const appender = this.appender;
    return {
      version,
      gatewayId: this.config.gatewayId,
      state: this.health,
      uptimeSeconds: this.uptimeSeconds(),
      lastSeq: appender?.seq ?? 0,
      stagedEvents: appender?.stagedCount() ?? 0,
      ingestRatePerSecond: Math.round((this.ingestRate?.perSecond() ?? 0) * 100) / 100,
      clock: this.clocks?.status() ?? null,
      // null while the store is closed (its reopen after a failed write failed too).
      storeEvents: this.store && appender ? await this.store.eventCount(appender.seq).catch(() => null) : 0,
      storeBytes: this.store ? await this.store.approximateBytes().catch(() => null) : 0,
      disk: await this.diskStatus(),
      dlqEvents: this.dlqSize,
      clients: this.broker?.connectedClients ?? 0,
      upstream: this.upstream ? await this.upstream.status() : null,
      rules: this.rules?.status() ?? null,
      devices: this.devices?.status() ?? null,
    };
  }

  /** Stop accepting, flush the group commit, close the store. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.health === 'stopping') return;
    this.health = 'stopping';
    this.clocks?.stopWatching();
    this.history?.stop();
    this.disk?.stop();
    await this.scheduler?.stop();
    // New connections are refused first; the group in flight is committed and its
    // PUBACKs sent while the clients are still connected; then they are closed.
    await this.broker?.stopListening();
    await this.devices?.stop();
    await this.appender?.flushed();
    // Alerts decided from the last group are stored and published while clients are connected.
    await this.rules?.stop();
    await this.broker?.stop();
    // After the broker: the last group is committed; what it holds is forwarded next start.
    await this.upstream?.stop();
    await this.appender?.close();
    await this.http?.stop();
    if (this.clocks && this.store) await this.clocks.leaveMark(this.store);
    await this.store?.close();
    if (this.addrs) removeRuntime(this.config.dataDir);
    this.bus.removeOwner('daemon');
    this.log.info({ lastSeq: this.appender?.seq ?? 0 }, 'edgebus stopped');
  }
}
