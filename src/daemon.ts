// The composition root: the gateway as a list of components, each built from the config
// and the ones before it, started in order and stopped in reverse (util/lifecycle.ts). The
// order is what the shutdown needs read backwards: the listener refuses new connections
// first, devices stop reading, upstream says goodbye, the rules store and publish what the
// last group decided while clients are still connected, then the broker closes them, and the
// store closes last. What the gateway does on request (status, the DLQ, replay, the
// heartbeat) lives in usecases/.
import type { AddressInfo } from 'node:net';
import type { Config } from './config/types.js';
import { DevicesService } from './devices/devices-service.js';
import { EventStreams, type StreamState } from './http/event-stream.js';
import { History, historyIntervalMs } from './http/history.js';
import { Metrics } from './http/metrics.js';
import { IngestRate } from './http/rate.js';
import { Summary } from './http/summary.js';
import { HttpApi } from './http/server.js';
import { Broker } from './ingest/broker.js';
import { BrokerAccess } from './ingest/broker-access.js';
import { TopicRouter } from './ingest/topics.js';
import { DiskWatch } from './jobs/disk-watch.js';
import { Scheduler } from './jobs/scheduler.js';
import { maintainStore, type MaintenanceResult } from './jobs/store-maintenance.js';
import { deviceView, listDeviceViews } from './usecases/device-views.js';
import { Appender } from './pipeline/appender.js';
import { CommandDelivery } from './pipeline/command-delivery.js';
import { EventBus } from './pipeline/bus.js';
import { ClockService } from './pipeline/clock-service.js';
import { LocalRoutes } from './routes/local-routes.js';
import { RulesService } from './rules/rules-service.js';
import { loadSchemas } from './schemas/loader.js';
import type { EdgeEvent } from './events/types.js';
import { openOrQuarantine, quarantineDraft } from './store/quarantine.js';
import { DeadLetterCount } from './usecases/dead-letters.js';
import { purgeDeadLetters, retryDeadLetters } from './usecases/dlq-retry.js';
import { homeAssistantFor } from './usecases/home-assistant.js';
import type { Gateway } from './usecases/gateway.js';
import { HealthState } from './usecases/health.js';
import { replay } from './usecases/replay.js';
import { listCheckpoints, putCheckpoint, removeCheckpoint } from './usecases/checkpoints.js';
import { appendHeartbeat, gatewayStatus } from './usecases/status.js';
import { Lifecycle } from './util/lifecycle.js';
import type { Logger } from './util/log.js';
import { removeRuntime, writeRuntime } from './util/runtime-file.js';
import { version } from './version.js';

export interface DaemonAddresses {
  broker: AddressInfo;
  http: AddressInfo;
}

const OWNER = 'daemon';

/** How long the start waits for the serial devices' first open before sending leftover commands. */
const FIRST_OPEN_CAP_MS = 5_000;

export class Daemon {
  readonly bus = new EventBus();
  private readonly health = new HealthState();
  private readonly lifecycle: Lifecycle;
  private gateway: Gateway | null = null;
  private addrs: DaemonAddresses | null = null;
  private stopping: Promise<void> | null = null;
  private streams: EventStreams | null = null;
  /**
   * Set by `edgebus start`, which can stop this daemon and start another on the same ports:
   * what a desired-state document with device profiles, routes or config keys needs.
   */
  onRestartRequest: (() => void) | null = null;

  constructor(readonly config: Config, private readonly log: Logger, private readonly configFile: string | null = null) {
    this.lifecycle = new Lifecycle(log);
  }

  get addresses(): DaemonAddresses {
    if (!this.addrs) throw new Error('daemon not started');
    return this.addrs;
  }

  async start(): Promise<DaemonAddresses> {
    const { config, log, bus, lifecycle } = this;
    this.health.attach(bus, log, OWNER);
    // Before anything opens: a schema file with a mistake stops the start as a bad config does.
    const schemas = loadSchemas(config.schemasDir, log);
    // The ports take nothing when there are no schemas: ingest then does no schema work at all.
    const latest = schemas.size ? <T extends EdgeEvent>(e: T): T => schemas.latest(e) : undefined;

    // A corrupt or unreadable store is moved aside and a fresh one opened (SPEC §8).
    const opened = await openOrQuarantine(config.dataDir, log);
    const store = opened.store;
    // A classic-level upgrade that moved what the native batch relies on costs speed, not
    // data: the fallback commits the same, slower. Said once, with what moved.
    const noNativeBatch = store.nativeBatchIssue();
    if (noNativeBatch) log.warn({ reason: noNativeBatch }, `store: no native write batch (${noNativeBatch}): commits go through abstract-level's public batch, slower (npm ci installs the classic-level this edgebus was tested with)`);
    await lifecycle.start({ name: 'store', start: () => {}, stop: () => store.close() });

    const clocks = await ClockService.open(store, config.clock.sync, log);
    const { clock } = clocks;
    let broker: Broker | null = null;
    let scheduler: Scheduler | null = null;
    const appender = new Appender({
      store, bus, gatewayId: config.gatewayId, durability: config.store.durability,
      reorderWindow: config.store.reorderWindow, dedupWindow: config.store.dedupWindow,
      clock, timeline: clocks.log.timeline,
      // The broker is built after the appender (it submits to it): bind its sockets late.
      settling: { begin: () => broker?.settling.begin(), end: () => broker?.settling.end() },
    });
    await lifecycle.start({
      name: 'clock',
      start: () => clocks.watchChanges((change) => {
        appender.clockChanged(change);
        if (change.kind === 'step') scheduler?.replan();
        bus.emit('clockChanged', change);
      }),
      stop: async () => {
        clocks.stopWatching();
        await clocks.leaveMark(store);
      },
    });
    const deadLetters = new DeadLetterCount();
    await lifecycle.start({
      name: 'pipeline',
      start: async () => {
        await deadLetters.load(store);
        deadLetters.attach(bus, log, OWNER);
        await appender.init();
        if (opened.quarantined) await appender.append(quarantineDraft(config.gatewayId, opened.quarantined, clock.now()));
      },
      stop: () => appender.close(),
    });

    let lastMaintenance: MaintenanceResult | null = null;
    const disk = new DiskWatch({ dir: store.dir, minFree: config.store.minFree, log, onLow: () => diskLow() });
    await disk.read();
    const g: Gateway = {
      config, log, bus, health: this.health, store, clocks, appender, deadLetters, disk, startedAt: clock.now(),
      router: new TopicRouter(config.ingest),
      ingestRate: new IngestRate(60, () => clock.now()).attachedTo(bus, OWNER),
      summary: new Summary({ bus, now: () => clock.now() }, OWNER),
      broker: null, rules: null, devices: null, upstream: null, schemas,
    };
    this.gateway = g;

    const history = new History({
      bus, intervalMs: historyIntervalMs(), now: () => clock.now(), wall: Date.now,
      // The dashboard's last hour: the same upstream figures as the status, sampled on a timer.
      sample: async () => ({
        backlog: g.upstream?.forwarder.backlog ?? 0,
        upstreamConnected: g.upstream ? g.upstream.link.connected : null,
        storeBytes: await store.approximateBytes(),
      }),
    });
    await lifecycle.start({ name: 'history', start: () => history.start(), stop: () => history.stop() });

    const streams = (this.streams = new EventStreams({ store, bus, committedSeq: () => appender.committedSeq, timeline: appender.timeline, log }));
    const http = new HttpApi({
      host: config.http.host, port: config.http.port, token: config.http.token, store, log,
      metrics: this.metrics(g),
      health: () => this.health.current, healthReason: () => this.health.reason,
      status: () => gatewayStatus(g), history: () => history.snapshot(),
      timeline: appender.timeline, follow: streams, latest,
      devices: {
        list: () => listDeviceViews(store, config.devicesDir),
        get: (id) => deviceView(store, config.devicesDir, id),
      },
      clock: () => ({ now: clock.now(), wall: clock.wall(), offset: clock.offset, quality: clock.quality, segments: appender.timeline.segments }),
      actions: {
        dlqRetry: (ids) => retryDeadLetters(g, ids),
        dlqPurge: (ids) => purgeDeadLetters(g, ids),
        replay: (from, to, progress, warn) => replay(g, from, to, progress, warn),
        checkpoints: {
          list: () => listCheckpoints(g),
          set: (name, at) => putCheckpoint(g, name, at),
          remove: (name) => removeCheckpoint(g, name),
        },
      },
    });
    let httpAddress: AddressInfo | null = null;
    await lifecycle.start({ name: 'http', start: async () => void (httpAddress = await http.start()), stop: () => http.stop() });

    const access = new BrokerAccess({
      users: config.broker.users, allowAnonymous: config.broker.allowAnonymous, limits: config.broker.limits, log,
      onRefusal: (reason) => bus.emit('refused', { reason }),
    }, () => clock.now());
    const local = (broker = new Broker({
      host: config.broker.host, port: config.broker.port, maxPayload: config.broker.maxPayload,
      router: g.router, appender, access, tls: config.broker.tls, now: () => clock.now(),
      schemas: schemas.size ? schemas : null,
    }));
    const publishLocal = (topic: string, payload: Buffer, opts?: { qos: 0 | 1; retain: boolean }) => local.publishLocal(topic, payload, opts);
    // Commands from rules and from upstream, published once stored; a crash's leftovers after the devices start.
    const commands = new CommandDelivery({ store, publish: publishLocal, sync: config.store.durability === 'fsync', log });
    // What a crash left stored and unpublished goes out ahead of anything new, once the serial
    // devices have tried their ports (a command to a port not open is not written); the start
    // does not wait for it.
    let devicesTried: () => void = () => {};
    void commands.redeliverLeftovers(appender.committedSeq, new Promise<void>((resolve) => (devicesTried = resolve)));
    // Open, not listening: it stops after the rules, so their last alerts reach connected clients.
    await lifecycle.start({ name: 'broker', start: async () => void (await local.open(), (g.broker = local)), stop: () => local.stop() });

    // Before the broker listens: the rules subscribe first, so no new reading passes them by.
    // Their state is rebuilt from the log in the background (a large recent store would
    // otherwise hold the start for seconds); readings appended meanwhile wait their turn,
    // so each meets the windows it would have met without the restart.
    const rules = new RulesService({ rulesDir: config.rulesDir, gatewayId: config.gatewayId, store, bus, appender, log, publish: publishLocal, commands, latest });
    await lifecycle.start({
      name: 'rules',
      start: async () => void (await rules.start(), (g.rules = rules)),
      // The group in flight is committed first: the rules decide on it before they stop.
      stop: async () => {
        await appender.flushed();
        await rules.stop();
      },
    });

    // After the commit, like the rules: a local route never publishes what is not durable yet.
    const localRoutes = new LocalRoutes({
      routes: config.routes, gatewayId: config.gatewayId, bus, publish: publishLocal, log,
      timeOf: (e) => appender.timeline.eventTime(e),
    });
    if (localRoutes.size) await lifecycle.start({ name: 'local routes', start: () => localRoutes.start(), stop: () => localRoutes.stop() });

    // Built before the upstream link, which follows Home Assistant's status for it when it publishes there.
    const ha = config.homeassistant.enabled ? homeAssistantFor(g, local.aedes) : null;

    if (config.upstream) {
      // Loaded only when configured: the MQTT client alone costs ~20 MB of RSS (README, Memory).
      const { Upstream } = await import('./upstream/upstream.js');
      const routing = config.routes.length === 0 ? undefined
        : new (await import('./routes/upstream-routing.js')).UpstreamRouting(config.routes, config.gatewayId, config.upstream.topic);
      // Desired state arrives over the link and reports over it (README "Fleets" › "Desired state").
      const { DesiredState } = await import('./usecases/desired-state.js');
      const desired: InstanceType<typeof DesiredState> = new DesiredState({
        config, store, log, latest, health: this.health,
        restart: this.onRestartRequest ? () => this.onRestartRequest?.() : undefined,
        loadedRules: () => new Set(rules.engine.rules.map((r) => r.id)),
        publish: async (topic, payload) => {
          const outcome = await upstream.link.publish(topic, payload, 'application/json', true);
          if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
        },
      });
      const upstream = new Upstream({
        config: config.upstream, routing, gatewayId: config.gatewayId, version, store, bus, appender, log,
        commands, latest: latest && { mayNeedUpcast: (bytes) => schemas.mayNeedUpcast(bytes), event: latest },
        documentTopics: [...desired.topics, ...(ha?.upstreamTopics ?? [])],
        onDocument: (topic, payload) => (ha?.upstreamTopics.includes(topic) ? ha.service.homeAssistantStatus(payload) : desired.receive(topic, payload)),
      });
      upstream.link.on('up', () => desired.linkUp());
      // What was published while the link was down (or before a broker restart) goes again.
      if (ha?.upstreamTopics.length) upstream.link.on('up', () => ha.service.republish());
      rules.onReloaded = () => desired.rulesChanged();
      await lifecycle.start({ name: 'desired state', start: async () => desired.start(), stop: () => desired.stop() });
      await lifecycle.start({ name: 'upstream', start: async () => void (await upstream.start(), (g.upstream = upstream)), stop: () => upstream.stop() });
    }

    const devices = new DevicesService({
      devicesDir: config.devicesDir, aedes: local.aedes, appender, log, now: () => clock.now(), publishLocal,
      schemas: schemas.size ? schemas : null,
    });
    await lifecycle.start({ name: 'devices', start: async () => void (await devices.start(), (g.devices = devices)), stop: () => devices.stop() });
    await lifecycle.start({
      name: 'commands',
      start: async () => void devices.firstOpenAttempts(FIRST_OPEN_CAP_MS).then(devicesTried),
      stop: () => {
        devicesTried();
        return commands.idle();
      },
    });

    if (ha) await lifecycle.start({ name: 'homeassistant', start: () => ha.start(), stop: () => ha.stop() });

    let brokerAddress: AddressInfo | null = null;
    // Stopped first: new connections are refused while the rest shuts down.
    await lifecycle.start({ name: 'listener', start: async () => void (brokerAddress = await local.listen()), stop: () => local.stopListening() });

    const jobs = (scheduler = new Scheduler(log, { onRun: (job, ok) => bus.emit('jobRun', { job, ok }) }));
    const diskLow = async (): Promise<boolean> => {
      // Low space is a reason to evict, not to refuse publishes; while the store is
      // unavailable nothing can be deleted, and its reopen brings it back once space returns.
      if (this.health.current !== 'ok') return true;
      // A run already going (its slot came) acts on the same free space: wait for it instead.
      if (!(await jobs.runNow('prune'))) return true;
      return lastMaintenance?.eviction != null;
    };
    await lifecycle.start({
      name: 'jobs',
      start: async () => {
        jobs.add({
          name: 'prune', schedule: config.schedules.prune,
          run: async () => (lastMaintenance = await maintainStore({
            store, appender, bus, log, gatewayId: config.gatewayId, retentionMs: config.store.retention, maxBytes: config.store.maxBytes,
            disk: disk.bound(),
            forwardedThrough: () => g.upstream?.forwarder.acknowledgedThrough ?? appender.committedSeq,
          })),
        });
        jobs.add({ name: 'heartbeat', schedule: config.schedules.heartbeat, run: () => appendHeartbeat(g) });
        await disk.start();
      },
      stop: async () => {
        disk.stop();
        await jobs.stop();
      },
    });

    return this.ready(brokerAddress!, httpAddress!, appender.seq);
  }

  private metrics(g: Gateway): Metrics {
    return new Metrics({
      store: g.store, bus: g.bus, lastSeq: () => g.appender.seq, dlqSize: () => g.deadLetters.size,
      diskFreeBytes: () => g.disk.read().then((s) => s.freeBytes, () => null),
      upstream: () => {
        const up = g.upstream;
        if (up === null) return null;
        const c = up.counters;
        return {
          connected: up.link.connected, backlog: up.forwarder.backlog, oldestUnsentSeconds: () => up.forwarder.oldestUnsentSeconds(),
          forwarded: c.forwarded, retries: c.retries + c.reconnects, expired: c.expired, batches: c.batches,
        };
      },
    });
  }

  private ready(broker: AddressInfo, http: AddressInfo, lastSeq: number): DaemonAddresses {
    const { config, log } = this;
    this.addrs = { broker, http };
    writeRuntime(config.dataDir, {
      pid: process.pid, startedAt: new Date().toISOString(),
      http: { host: http.address, port: http.port }, broker: { host: broker.address, port: broker.port },
    });
    this.health.ready();
    const upstream = config.upstream?.url ?? 'none (store-only)';
    log.info({
      version, gatewayId: config.gatewayId, config: this.configFile ?? 'built-in defaults',
      broker: `mqtt://${broker.address}:${broker.port}`, brokerPort: broker.port,
      http: `http://${http.address}:${http.port}`, httpPort: http.port,
      dataDir: config.dataDir, rulesDir: config.rulesDir, devicesDir: config.devicesDir,
      upstream, durability: config.store.durability, lastSeq,
    }, `edgebus ready: broker mqtt://${broker.address}:${broker.port}, http http://${http.address}:${http.port}, data ${config.dataDir}, upstream ${upstream}`);
    return this.addrs;
  }

  /** The live streams of `/api/events?follow=1` being served: how far each got, what waits for its client. */
  get eventStreams(): StreamState[] {
    return this.streams?.states() ?? [];
  }

  /** What `/api/status` answers (the demo shows it without HTTP). */
  status(): Promise<object> {
    if (this.gateway === null) throw new Error('daemon not started');
    return gatewayStatus(this.gateway);
  }

  /** Stops every component, newest first (see the order at the top). Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.health.stopping();
      await this.lifecycle.stop();
      if (this.addrs) removeRuntime(this.config.dataDir);
      this.bus.removeOwner(OWNER);
      this.log.info({ lastSeq: this.gateway?.appender.seq ?? 0 }, 'edgebus stopped');
    })();
    return this.stopping;
  }
}
