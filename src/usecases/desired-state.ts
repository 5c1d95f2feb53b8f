// Desired state from the cloud (README "Fleets" › "Desired state"): the gateway follows a
// retained document on its own topic and on the fleet's (its own wins), validates it as
// `edgebus check --desired` does, backtests the rules it brings on the local log, swaps the
// files in (the routes/config overlay, rule files, device profiles), waits out a grace period
// in which the rules must load and health must stay ok (else it puts the old files back), and
// reports the outcome, retained. Profiles and the overlay are read only at start: a change
// to them asks `edgebus start` for a restart, and the next daemon confirms it (confirm()).
// It reads the event log only to backtest: a push never touches what is buffered for upstream.
import { mkdirSync, readFileSync, renameSync, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { parseDesired } from '../config/desired-document.js';
import { DESIRED_OVERLAY_FILE, overlayText } from '../config/desired-overlay.js';
import type { DesiredDocument } from '../config/desired-schema.js';
import type { Config } from '../config/types.js';
import { formatIssue } from '../config/validate.js';
import type { EdgeEvent } from '../events/types.js';
import { loadRuleFile } from '../rules/loader.js';
import type { CompiledRule } from '../rules/types.js';
import type { EventStore } from '../store/event-store.js';
import type { Logger } from '../util/log.js';
import { checkDesired } from './desired-check.js';
import { driftOf, sha256, watchOverlay, type AppliedState } from './desired-drift.js';
import { clearPending, readPending, rollBackPending, writePending, type PendingApply } from './desired-pending.js';
import { restoreFiles, swapFiles, type FileSet, type Previous } from './managed-files.js';
import { backtestRules } from './rule-backtest.js';

export type DesiredStatus = 'applied' | 'rejected' | 'rolled-back';

export interface DesiredReport {
  gatewayId: string;
  version: string | number | null;
  hash: string | null;
  status: DesiredStatus;
  errors: string[];
  /** Rule id → alerts it would have raised over the backtest window. */
  backtest: Record<string, number>;
  /** When this version was applied (applied), or when it was turned down. */
  appliedAt: string;
  /**
   * Managed files edited (or removed) locally since they were applied: rule files by name,
   * profiles as `devices/NAME`, the overlay as `dataDir/desired-config.yaml`; empty: none.
   */
  drift: string[];
}

export interface DesiredStateOptions {
  config: Config;
  store: EventStore;
  log: Logger;
  /** The daemon's health (/healthz): a store failure in the grace period rolls back. */
  health: HealthView;
  /** Ids of the rules the daemon has loaded now. */
  loadedRules: () => ReadonlySet<string>;
  /** Publishes retained at QoS 1; rejects when the link is down. */
  publish: (topic: string, payload: Buffer) => Promise<void>;
  latest?: (e: EdgeEvent) => EdgeEvent;
  /**
   * Restarts the daemon in this process (edgebus start): what device profiles, routes and
   * config keys need. Without it a document carrying them is rejected.
   */
  restart?: () => void;
  /** How long an applied document must keep the daemon healthy; default upstream.desiredGrace. */
  graceMs?: number;
  /** How far back new and changed rules are backtested; default 24h. */
  backtestSince?: string;
}

/** What the grace period looks at: the state now, and failures the store came back from meanwhile. */
export interface HealthView {
  readonly current: string;
  readonly reason: string | null;
  readonly failures: { readonly count: number; readonly last: string | null };
}

export const FLEET_DESIRED_TOPIC = 'edgebus/fleet/config/desired';
export const desiredTopic = (gatewayId: string) => `edgebus/${gatewayId}/config/desired`;
export const reportedTopic = (gatewayId: string) => `edgebus/${gatewayId}/config/reported`;

const STATE_FILE = 'desired-state.json';
const POLL_MS = 100;
const DEFAULT_GRACE_MS = 5_000;

export class DesiredState {
  /** The retained documents last received on each topic; an empty payload clears one. */
  private readonly docs = new Map<string, Buffer>();
  private applied: AppliedState | null = null;
  /** The hash last handled, so a retained copy sent again on reconnect is not reworked. */
  private lastHash: string | null = null;
  private lastPayload: Buffer | null = null;
  private unsentReport: Buffer | null = null;
  /** The report last made, re-sent with a new `drift` when local edits come or go. */
  private lastReport: DesiredReport | null = null;
  private applying = false;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private overlayWatch: FSWatcher | null = null;

  constructor(private readonly opts: DesiredStateOptions) {}

  get topics(): string[] {
    return [desiredTopic(this.opts.config.gatewayId), FLEET_DESIRED_TOPIC];
  }

  start(): void {
    this.overlayWatch = watchOverlay(this.opts.config.dataDir, () => this.rulesChanged(), this.opts.log);
    this.applied = this.readState();
    const pending = readPending(this.opts.config.dataDir);
    // The retained copy of a document this start is confirming is not worked again.
    this.lastHash = pending?.hash ?? this.applied?.hash ?? null;
    this.lastReport = this.applied?.report ?? null;
    if (pending) {
      this.applying = true;
      this.queue = this.queue.then(() => this.confirm(pending)).catch((err: unknown) => {
        this.opts.log.error({ err }, 'desired state: could not confirm the document applied before the restart');
      }).finally(() => {
        this.applying = false;
        this.rulesChanged();
      });
      return;
    }
    this.rulesChanged();
  }

  /** A managed file changed (rules folder, overlay): one that no longer holds what was applied is drift. */
  rulesChanged(): void {
    // Our own swap reloads the rules too; what it wrote is checked once it is recorded.
    if (this.applying || !this.applied || !this.lastReport) return;
    const drift = driftOf(this.opts.config, this.applied);
    if (drift.join('\n') === this.lastReport.drift.join('\n')) return;
    this.opts.log.warn({ drift }, drift.length ? 'desired state: managed files edited locally' : 'desired state: managed files match what was applied again');
    this.lastReport = { ...this.lastReport, drift };
    void this.sendReport(Buffer.from(JSON.stringify(this.lastReport)));
  }

  /** One document at a time, in the order received. */
  receive(topic: string, payload: Buffer): void {
    this.docs.set(topic, payload);
    this.queue = this.queue.then(() => this.process()).catch((err: unknown) => {
      this.opts.log.error({ err }, 'desired state: could not handle a document');
    });
  }

  /** The link is back: a report that could not be sent goes now. */
  linkUp(): void {
    if (this.unsentReport) void this.sendReport(this.unsentReport);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.overlayWatch?.close();
    await this.queue;
  }

  private effective(): { topic: string; payload: Buffer } | null {
    for (const topic of this.topics) {
      const payload = this.docs.get(topic);
      if (payload?.length) return { topic, payload };
    }
    return null;
  }

  private async process(): Promise<void> {
    const next = this.effective();
    if (!next || this.stopped) return;
    // Every document is a look at the managed files, whatever comes of it.
    this.rulesChanged();
    // A retained copy delivered again on reconnect: already handled, whatever its outcome.
    if (this.lastPayload?.equals(next.payload)) return;
    this.lastPayload = next.payload;
    const { doc, issues, hash, parsed } = parseDesired(next.payload.toString('utf8'), next.topic);
    if (hash !== null && hash === this.lastHash) return;
    this.lastHash = hash;
    const version = doc?.version ?? null;
    const reject = async (errors: string[]): Promise<void> => void (await this.report({ version, hash, status: 'rejected', errors, backtest: {} }));
    if (!doc || !parsed || hash === null) return reject(issues.map(formatIssue));
    if (this.applied && this.applied.version === doc.version) {
      // The same version twice is a no-op; the same number over other content is a mistake.
      if (this.applied.hash !== hash) return reject([`version ${doc.version} is already applied with other content (hash ${this.applied.hash}); give a changed document a new version`]);
      return;
    }
    const check = checkDesired(doc, next.topic, parsed, this.opts.config);
    const errors = check.issues.map(formatIssue);
    for (const k of ['devices', 'routes', 'config'] as const) {
      if (doc[k] !== undefined && !this.opts.restart) errors.push(`${k}: not applied remotely by this gateway: it needs a restart, which only \`edgebus start\` does; set it in the local files`);
    }
    if (errors.length) return reject(errors);
    // A gateway already failing would blame the document for it within the grace period
    // (and its backtest would read a store being reopened).
    if (!(await this.healthyBeforeApply(doc.version))) return;
    // A newer document came meanwhile: it is next in the queue and replaces this one.
    if (!this.effective()?.payload.equals(next.payload)) return;
    const backtest = await this.backtest(doc);
    this.applying = true;
    try {
      await this.apply(doc, hash, backtest);
    } finally {
      this.applying = false;
    }
    this.rulesChanged();
  }

  /** New and changed rule files only: an unchanged rule has already shown what it does. */
  private async backtest(doc: DesiredDocument): Promise<Record<string, number>> {
    const rules: CompiledRule[] = [];
    for (const [name, text] of Object.entries(doc.rules ?? {})) {
      if (this.applied?.files[name] === sha256(text)) continue;
      rules.push(...loadRuleFile(`rules/${name}`, text).rules);
    }
    const { config, store, latest, backtestSince } = this.opts;
    return backtestRules(store, rules, { gatewayId: config.gatewayId, since: backtestSince, latest });
  }

  /**
   * The files a document manages, folder by folder: the config overlay, rules, device
   * profiles. `restart`: read only at start, so a change needs the daemon restarted.
   */
  private fileSets(doc: DesiredDocument): { dir: string; files: Map<string, string | null>; restart: boolean }[] {
    const { config } = this.opts;
    const managed = (wanted: Record<string, string>, before: Record<string, string>) => {
      const files = new Map<string, string | null>(Object.entries(wanted));
      // Files an earlier document managed and this one leaves out are removed; local files stay.
      for (const name of Object.keys(before)) if (!(name in wanted)) files.set(name, null);
      return files;
    };
    const overlay = doc.routes === undefined && doc.config === undefined ? null : overlayText({ routes: doc.routes, config: doc.config });
    return [
      { dir: config.dataDir, files: new Map([[DESIRED_OVERLAY_FILE, overlay]]), restart: true },
      { dir: config.rulesDir, files: managed(doc.rules ?? {}, this.applied?.files ?? {}), restart: false },
      { dir: config.devicesDir, files: managed(doc.devices ?? {}, this.applied?.devices ?? {}), restart: true },
    ];
  }

  private async apply(doc: DesiredDocument, hash: string, backtest: Record<string, number>): Promise<void> {
    const { config, log } = this.opts;
    const sets = this.fileSets(doc);
    const swapped: { dir: string; previous: Previous }[] = [];
    const restore = () => {
      for (const { dir, previous } of swapped.reverse()) {
        try {
          restoreFiles(dir, previous);
        } catch (err) {
          log.error({ err, dir }, 'desired state: could not restore the previous files');
        }
      }
    };
    try {
      for (const { dir, files } of sets) {
        mkdirSync(dir, { recursive: true });
        swapped.push({ dir, previous: swapFiles(dir, files as FileSet) });
      }
    } catch (err) {
      restore();
      log.warn({ err, version: doc.version }, 'desired state: applying failed; the previous files are back');
      return void (await this.report({ version: doc.version, hash, status: 'rolled-back', errors: [`apply: ${(err as Error).message}`], backtest }));
    }
    const ruleIds = ruleIdsOf(doc);
    const hashes = (files: Record<string, string> = {}) => Object.fromEntries(Object.entries(files).map(([n, t]) => [n, sha256(t)]));
    const overlayText = sets[0].files.get(DESIRED_OVERLAY_FILE) ?? null;
    const overlay = overlayText === null ? null : sha256(overlayText);
    // Rules hot-reload; device profiles and the overlay are read at start, so a change to either restarts.
    const needsRestart = swapped.some(({ previous }, k) => sets[k].restart && [...previous].some(([name, before]) => sets[k].files.get(name) !== before));
    if (needsRestart && this.opts.restart) {
      writePending(config.dataDir, {
        version: doc.version, hash, backtest, ruleIds, rules: hashes(doc.rules), devices: hashes(doc.devices), overlay,
        previous: swapped.map(({ dir, previous }) => ({ dir, files: Object.fromEntries(previous) })),
      });
      log.info({ version: doc.version }, 'desired state: files in place; restarting to apply device profiles, routes and config');
      this.opts.restart();
      return;
    }
    const failure = await this.watchGrace(ruleIds);
    if (failure) {
      restore();
      log.warn({ version: doc.version, failure }, 'desired state: rolled back');
      return void (await this.report({ version: doc.version, hash, status: 'rolled-back', errors: [failure], backtest }));
    }
    await this.recordApplied({ version: doc.version, hash, backtest, rules: hashes(doc.rules), devices: hashes(doc.devices), overlay });
  }

  /** After the restart a document asked for: its grace period, then applied, or its files put back. */
  private async confirm(pending: PendingApply): Promise<void> {
    const { config, log } = this.opts;
    const { version, hash, backtest } = pending;
    if (pending.failure !== undefined) {
      clearPending(config.dataDir);
      log.warn({ version, failure: pending.failure }, 'desired state: rolled back');
      return void (await this.report({ version, hash, status: 'rolled-back', errors: [pending.failure], backtest }));
    }
    const failure = await this.watchGrace(pending.ruleIds);
    // Stopped meanwhile: the next start confirms it.
    if (this.stopped) return;
    if (failure && this.opts.restart) {
      rollBackPending(config.dataDir, failure);
      log.warn({ version, failure }, 'desired state: failed after the restart; the previous files are back, restarting again');
      // A daemon restarted onto a store that is failing cannot open it and exits: the store
      // is given the grace period again to come back. The previous files are already in
      // place, so whenever the next start comes it brings the previous setup.
      await this.healthy(this.graceMs);
      if (this.stopped) return;
      this.opts.restart();
      return;
    }
    await this.recordApplied(pending);
    clearPending(config.dataDir);
  }

  private async recordApplied(a: Pick<PendingApply, 'version' | 'hash' | 'backtest' | 'rules' | 'devices' | 'overlay'>): Promise<void> {
    const report = await this.report({ version: a.version, hash: a.hash, status: 'applied', errors: [], backtest: a.backtest });
    this.applied = { version: a.version, hash: a.hash, report, files: a.rules, devices: a.devices, overlay: a.overlay };
    this.writeState(this.applied);
    this.opts.log.info({ version: a.version, hash: a.hash, backtest: a.backtest }, 'desired state applied');
  }

  private get graceMs(): number {
    return this.opts.graceMs ?? this.opts.config.upstream?.desiredGrace ?? DEFAULT_GRACE_MS;
  }

  /** True once health is ok, false when stopped first or `withinMs` ran out. */
  private async healthy(withinMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (!this.stopped && this.opts.health.current !== 'ok') {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return !this.stopped;
  }

  /**
   * A document that comes while the daemon is unhealthy waits until it is ok again, however
   * long: applying it then would have its grace period blame it for a failure it did not cause.
   */
  private async healthyBeforeApply(version: string | number): Promise<boolean> {
    const { current, reason } = this.opts.health;
    if (current === 'ok') return true;
    if (current !== 'starting') this.opts.log.warn({ version, health: current, reason }, 'desired state: the daemon is unhealthy; the document is applied once it is ok again');
    const ok = await this.healthy();
    if (ok && current !== 'starting') this.opts.log.info({ version }, 'desired state: healthy again; applying the document that waited');
    return ok;
  }

  /** Null when the rules went live and health stayed ok for the grace period; else why not. */
  private async watchGrace(ids: string[]): Promise<string | null> {
    const deadline = Date.now() + this.graceMs;
    const { health } = this.opts;
    // A store failure it recovered from between two looks counts as much as one still on.
    const failuresBefore = health.failures.count;
    let live = false;
    for (;;) {
      if (this.stopped) return 'stopped within the grace period';
      if (health.failures.count !== failuresBefore) return `health: ${health.failures.last ?? 'store-unavailable'} within the grace period`;
      const now = health.current;
      if (now !== 'ok' && now !== 'starting') return `health: ${now}${health.reason ? ` (${health.reason})` : ''} within the grace period`;
      if (!live) {
        const loaded = this.opts.loadedRules();
        live = ids.every((id) => loaded.has(id));
      }
      if (Date.now() >= deadline) return live ? null : `reload: the rules ${ids.join(', ')} were not all loaded within the grace period`;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async report(r: Omit<DesiredReport, 'gatewayId' | 'appliedAt' | 'drift'>): Promise<DesiredReport> {
    // A rejected or rolled-back document leaves the applied files, and their drift, as they were.
    const drift = r.status === 'applied' || !this.applied ? [] : driftOf(this.opts.config, this.applied);
    const report: DesiredReport = { gatewayId: this.opts.config.gatewayId, ...r, appliedAt: new Date().toISOString(), drift };
    this.lastReport = report;
    await this.sendReport(Buffer.from(JSON.stringify(report)));
    return report;
  }

  private async sendReport(payload: Buffer): Promise<void> {
    this.unsentReport = payload;
    try {
      await this.opts.publish(reportedTopic(this.opts.config.gatewayId), payload);
      if (this.unsentReport === payload) this.unsentReport = null;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'desired state: report not sent; it goes when the link is back');
    }
  }

  private readState(): AppliedState | null {
    try {
      return JSON.parse(readFileSync(join(this.opts.config.dataDir, STATE_FILE), 'utf8')) as AppliedState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.log.warn({ err }, 'desired state: state file unreadable; the next document is applied');
      return null;
    }
  }

  private writeState(state: AppliedState): void {
    const file = join(this.opts.config.dataDir, STATE_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(state), { flush: true });
    renameSync(`${file}.tmp`, file);
  }
}

const ruleIdsOf = (doc: DesiredDocument): string[] =>
  Object.entries(doc.rules ?? {}).flatMap(([name, text]) => loadRuleFile(name, text).rules.map((r) => r.id));
