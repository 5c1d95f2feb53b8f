// The rules side of the gateway, assembled: the rule set from `rulesDir` (hot-reloaded),
// the engine fed with every durable event, the outbox that stores and delivers alerts,
// derived events and their actions' Commands, and the state that must outlive a restart —
// rebuilt from the log, plus what absence rules knew of groups that went quiet.
import type { Appender } from '../pipeline/appender.js';
import type { CommandDelivery } from '../pipeline/command-delivery.js';
import type { EventStore } from '../store/event-store.js';
import { readEvents, type EventQuery } from '../store/log-reader.js';
import { readRulesAbsence, writeRulesAbsence } from '../store/meta-records.js';
import type { EventBus } from '../pipeline/bus.js';
import type { Logger } from '../util/log.js';
import { formatIssue, type SchemaIssue } from '../config/validate.js';
import { AlertOutbox } from './alert-outbox.js';
import type { AlertIntent } from './alerts.js';
import { RuleEngine, type AbsentSnapshot } from './engine.js';
import { rebuildHorizonMs } from './horizon.js';
import { RulesWatcher } from './watcher.js';
import type { EdgeEvent } from '../events/types.js';

/** How often what absence rules know is saved: a crash loses at most this much of it. */
const SNAPSHOT_MS = 5_000;
const REPLAY_CHUNK = 512;

export interface RulesServiceOptions {
  rulesDir: string;
  gatewayId: string;
  store: EventStore;
  bus: EventBus;
  appender: Appender;
  publish: (topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;
  /** Where the Commands of rules go once stored (the outbox's publisher). */
  commands: CommandDelivery;
  log: Logger;
  /**
   * An event in its schema's latest version (src/schemas). Rules see every event so, live,
   * rebuilt and replayed alike, and are written against the latest shape; absent: as stored.
   */
  latest?: (e: EdgeEvent) => EdgeEvent;
}

export interface RulesStatus {
  dir: string;
  loaded: number;
  issues: string[];
  alerts: Record<string, { raised: number; cleared: number }>;
}

export class RulesService {
  readonly engine: RuleEngine;
  private readonly outbox: AlertOutbox;
  private watcher: RulesWatcher | null = null;
  /** Told after each hot reload (desired state looks for local edits of the files it manages). */
  onReloaded: (() => void) | null = null;
  private issues: SchemaIssue[] = [];
  private readonly fired = new Map<string, { raised: number; cleared: number }>();
  private snapshotTimer: NodeJS.Timeout | null = null;
  private savedSnapshot = '';
  private rebuilding: Promise<void> = Promise.resolve();

  /** Settles once the rules' state is rebuilt from the log after the start (and they are live). */
  get rebuilt(): Promise<void> {
    return this.rebuilding;
  }
  private stopped = false;

  constructor(private readonly opts: RulesServiceOptions) {
    this.outbox = new AlertOutbox({
      appender: opts.appender, publish: opts.publish, commands: opts.commands, log: opts.log,
      onStored: (a) => this.count(a),
    });
    this.engine = this.newEngine();
  }

  /** An engine on the gateway clock, reading event times through the clock's timeline. */
  private newEngine(): RuleEngine {
    const { appender } = this.opts;
    return new RuleEngine({
      gatewayId: this.opts.gatewayId, onAlert: (a) => this.outbox.push(a),
      now: () => appender.clock.now(),
      timeOf: (e) => appender.timeline.eventTime(e),
      wallOf: (g) => appender.timeline.wallOf(g),
    });
  }

  async start(): Promise<void> {
    const { opts } = this;
    // The watcher owns the rule objects: a file that did not change keeps its objects on a
    // reload, and with them the state the engine holds for its rules.
    this.watcher = new RulesWatcher(opts.rulesDir, (change) => {
      this.report(change.issues);
      this.engine.setRules(change.rules);
      opts.log.info({ rules: change.rules.length, files: change.changedFiles }, 'rules reloaded');
      this.onReloaded?.();
    });
    const loaded = this.watcher.start();
    this.report(loaded.issues);
    this.engine.setRules(loaded.rules);
    const snapshot = await readRulesAbsence(opts.store);
    if (snapshot !== undefined) this.engine.restoreAbsent(JSON.parse(snapshot) as AbsentSnapshot);
    // The log's recent past is replayed after the start, not before it: that replay reads
    // every event of the rules' horizon (10 minutes of readings for the example rules, a
    // million at a Pi's peak rate), which would keep the broker from acknowledging anything
    // for seconds. Events appended meanwhile are not held in memory (a busy gateway would
    // queue tens of thousands): they are durable, so the replay reads on through the log
    // until it reaches the last commit, and the rules go live at that commit. The engine sees
    // the sequence it would have seen without the restart.
    let live = false;
    opts.bus.on('rules', 'appended', (events) => {
      if (live) this.evaluate(events);
    });
    const goLive = (): void => {
      live = true;
      this.engine.armAbsence();
    };
    this.rebuilding = this.rebuild(goLive).then((rebuilt) => {
      if (!this.stopped) opts.log.info({ rules: this.engine.rules.length, rebuiltFrom: rebuilt }, `rules: state rebuilt from ${rebuilt} stored events`);
    }, (err: unknown) => {
      // A log that cannot be read is the store's matter (its own errors say so); the rules
      // go on from where the replay stopped rather than never evaluating again.
      opts.log.error({ err }, 'rules: rebuilding their state from the log failed; going on from what was replayed');
      if (!live) goLive();
    });
    this.snapshotTimer = setInterval(() => void this.saveSnapshot(), SNAPSHOT_MS);
    this.snapshotTimer.unref();
    opts.log.info({ rules: loaded.rules.length, dir: opts.rulesDir }, `${loaded.rules.length} rules loaded`);
  }

  private evaluate(events: readonly EdgeEvent[]): void {
    const started = performance.now();
    try {
      this.engine.process(inLatest(events, this.opts.latest));
    } catch (err) {
      // A bug in a rule's evaluation must not stop the pipeline that called us.
      this.opts.log.error({ err }, 'rule evaluation failed');
    }
    this.opts.bus.emit('rulesEvaluated', { events: events.length, seconds: (performance.now() - started) / 1000 });
  }

  private report(issues: readonly SchemaIssue[]): void {
    this.issues = [...issues];
    for (const issue of issues) this.opts.log.error({ file: issue.file, line: issue.line }, `rule not loaded: ${formatIssue(issue)}`);
  }

  /**
   * Runs the log's recent past through the engine so windows, streaks and sequences are
   * what they were; what it decides again has the ids it had, and the id index drops them.
   * It reads on past the start until no commit is left unread, then calls `goLive` in the
   * same turn as the check: the appender moves `committedSeq` and announces the events in
   * one synchronous step, so every event is either replayed here or evaluated live, once.
   */
  private async rebuild(goLive: () => void): Promise<number> {
    const { appender } = this.opts;
    const horizon: EventQuery = { receivedSince: appender.clock.now() - rebuildHorizonMs(this.engine.rules) };
    let n = 0;
    let through = 0;
    for (let toSeq = appender.committedSeq; toSeq > through && !this.stopped; toSeq = appender.committedSeq) {
      const range: EventQuery = through === 0 ? { ...horizon, toSeq } : { fromSeq: through + 1, toSeq };
      n = await replayInChunks(this.engine, readEvents(this.opts.store, range, appender.timeline), n, () => this.stopped, undefined, this.opts.latest);
      // Stopping mid-replay: what is left would only be thrown away.
      if (this.stopped) return n;
      through = toSeq;
    }
    if (!this.stopped) goLive();
    return n;
  }

  /** `replay --to rules`: stored events from `fromSeq` through a fresh engine with the same rules. */
  async replay(fromSeq: number, toSeq: number, progress: (n: number) => void): Promise<number> {
    const engine = this.newEngine();
    engine.setRules(this.engine.rules);
    const n = await replayInChunks(engine, readEvents(this.opts.store, { fromSeq, toSeq }), 0, () => false, progress, this.opts.latest);
    await this.outbox.drained();
    progress(n);
    return n;
  }

  private count(a: AlertIntent): void {
    // Derived events are events, not alerts: they are in the log, not in the alert figures.
    if (a.draft.type !== 'Alert') return;
    const c = this.fired.get(a.rule.id) ?? { raised: 0, cleared: 0 };
    c[a.state]++;
    this.fired.set(a.rule.id, c);
    const { payload, timestamp } = a.draft;
    this.opts.bus.emit('alert', {
      rule: a.rule.id, state: a.state, group: a.group, time: timestamp,
      severity: String(payload.severity), message: String(payload.message),
    });
  }

  status(): RulesStatus {
    return {
      dir: this.opts.rulesDir,
      loaded: this.engine.rules.length,
      issues: this.issues.map(formatIssue),
      alerts: Object.fromEntries(this.fired),
    };
  }

  private async saveSnapshot(): Promise<void> {
    const text = JSON.stringify(this.engine.absentSnapshot());
    if (text === this.savedSnapshot) return;
    try {
      await writeRulesAbsence(this.opts.store, text);
      this.savedSnapshot = text;
    } catch (err) {
      this.opts.log.warn({ err }, 'could not save what absence rules know');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.rebuilding;
    this.opts.bus.removeOwner('rules');
    this.watcher?.stop();
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.engine.stop();
    await this.outbox.drained();
    await this.saveSnapshot();
  }
}

/** The events in their latest version: the same array when none needed an upcast (most groups). */
export function inLatest(events: readonly EdgeEvent[], latest: ((e: EdgeEvent) => EdgeEvent) | undefined): readonly EdgeEvent[] {
  if (latest === undefined) return events;
  let out: EdgeEvent[] | null = null;
  for (let i = 0; i < events.length; i++) {
    const e = latest(events[i]);
    if (e === events[i]) continue;
    out ??= events.slice();
    out[i] = e;
  }
  return out ?? events;
}

/**
 * Feeds `events` to `engine.replay` REPLAY_CHUNK at a time, counting on from `n`; stops
 * reading when `stop` says so. `progress` hears the count after each full chunk.
 */
async function replayInChunks(engine: RuleEngine, events: AsyncIterable<EdgeEvent>, n: number, stop: () => boolean, progress?: (n: number) => void, latest?: (e: EdgeEvent) => EdgeEvent): Promise<number> {
  let chunk: EdgeEvent[] = [];
  for await (const e of events) {
    if (stop()) return n;
    chunk.push(latest ? latest(e) : e);
    if (chunk.length === REPLAY_CHUNK) {
      engine.replay(chunk);
      n += chunk.length;
      progress?.(n);
      chunk = [];
    }
  }
  engine.replay(chunk);
  return n + chunk.length;
}
