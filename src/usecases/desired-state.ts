// Desired state from the cloud (README "Fleets" › "Desired state"): the gateway follows a
// retained document on its own topic and on the fleet's (its own wins), validates it as
// `edgebus check --desired` does, backtests the rules it brings on the local log, swaps the
// rule files in, waits out a grace period in which the hot reload must take and health must
// stay ok (else it puts the old files back), and reports the outcome, retained. It reads
// the event log only to backtest: a push never touches what is buffered for upstream.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDesired } from '../config/desired-document.js';
import type { DesiredDocument } from '../config/desired-schema.js';
import type { Config } from '../config/types.js';
import { formatIssue } from '../config/validate.js';
import type { EdgeEvent } from '../events/types.js';
import { loadRuleFile } from '../rules/loader.js';
import type { CompiledRule } from '../rules/types.js';
import type { EventStore } from '../store/event-store.js';
import type { Logger } from '../util/log.js';
import { checkDesired } from './desired-check.js';
import { restoreFiles, swapFiles, type FileSet } from './managed-files.js';
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
  /** Managed rule files edited (or removed) locally since they were applied; empty: none. */
  drift: string[];
}

/** What was last applied, kept in dataDir so a restart does not apply it again. */
interface AppliedState {
  version: string | number;
  hash: string;
  /** Managed rule file name → sha256 of the text written. */
  files: Record<string, string>;
  report: DesiredReport;
}

export interface DesiredStateOptions {
  config: Config;
  store: EventStore;
  log: Logger;
  /** The daemon's health (/healthz): anything but `ok` in the grace period rolls back. */
  health: () => string;
  /** Ids of the rules the daemon has loaded now. */
  loadedRules: () => ReadonlySet<string>;
  /** Publishes retained at QoS 1; rejects when the link is down. */
  publish: (topic: string, payload: Buffer) => Promise<void>;
  latest?: (e: EdgeEvent) => EdgeEvent;
  /** How long an applied document must keep the daemon healthy; default 5 s. */
  graceMs?: number;
  /** How far back new and changed rules are backtested; default 24h. */
  backtestSince?: string;
}

export const FLEET_DESIRED_TOPIC = 'edgebus/fleet/config/desired';
export const desiredTopic = (gatewayId: string) => `edgebus/${gatewayId}/config/desired`;
export const reportedTopic = (gatewayId: string) => `edgebus/${gatewayId}/config/reported`;

const STATE_FILE = 'desired-state.json';
const POLL_MS = 100;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

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

  constructor(private readonly opts: DesiredStateOptions) {}

  get topics(): string[] {
    return [desiredTopic(this.opts.config.gatewayId), FLEET_DESIRED_TOPIC];
  }

  start(): void {
    this.applied = this.readState();
    this.lastHash = this.applied?.hash ?? null;
    this.lastReport = this.applied?.report ?? null;
    this.rulesChanged();
  }

  /** The rules folder changed: a managed file that no longer holds what was applied is drift. */
  rulesChanged(): void {
    // Our own swap reloads the rules too; what it wrote is checked once it is recorded.
    if (this.applying || !this.applied || !this.lastReport) return;
    const drift = this.drift(this.applied);
    if (drift.join('\n') === this.lastReport.drift.join('\n')) return;
    this.opts.log.warn({ drift }, drift.length ? 'desired state: managed rule files edited locally' : 'desired state: managed rule files match what was applied again');
    this.lastReport = { ...this.lastReport, drift };
    void this.sendReport(Buffer.from(JSON.stringify(this.lastReport)));
  }

  private drift(applied: AppliedState): string[] {
    return Object.entries(applied.files).filter(([name, hash]) => {
      try {
        return sha256(readFileSync(join(this.opts.config.rulesDir, name), 'utf8')) !== hash;
      } catch {
        return true;
      }
    }).map(([name]) => name).sort();
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
      if (doc[k] !== undefined) errors.push(`${k}: not applied remotely by this gateway (only rules hot-reload); set it in the local files`);
    }
    if (errors.length) return reject(errors);
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

  private async apply(doc: DesiredDocument, hash: string, backtest: Record<string, number>): Promise<void> {
    const { config, log } = this.opts;
    const wanted = doc.rules ?? {};
    const files = new Map<string, string | null>(Object.entries(wanted));
    // Files an earlier document managed and this one leaves out are removed; local files stay.
    for (const name of Object.keys(this.applied?.files ?? {})) if (!(name in wanted)) files.set(name, null);
    let previous;
    try {
      mkdirSync(config.rulesDir, { recursive: true });
      previous = swapFiles(config.rulesDir, files as FileSet);
    } catch (err) {
      log.warn({ err, version: doc.version }, 'desired state: applying failed; the previous rule files are back');
      return void (await this.report({ version: doc.version, hash, status: 'rolled-back', errors: [`apply: ${(err as Error).message}`], backtest }));
    }
    const failure = await this.watchGrace(doc);
    if (failure) {
      try {
        restoreFiles(config.rulesDir, previous);
      } catch (err) {
        log.error({ err }, 'desired state: could not restore the previous rule files');
      }
      log.warn({ version: doc.version, failure }, 'desired state: rolled back');
      return void (await this.report({ version: doc.version, hash, status: 'rolled-back', errors: [failure], backtest }));
    }
    const report = await this.report({ version: doc.version, hash, status: 'applied', errors: [], backtest });
    this.applied = {
      version: doc.version, hash, report,
      files: Object.fromEntries(Object.entries(wanted).map(([n, t]) => [n, sha256(t)])),
    };
    this.writeState(this.applied);
    log.info({ version: doc.version, hash, backtest }, 'desired state applied');
  }

  /** Null when the new rules went live and health stayed ok for the grace period; else why not. */
  private async watchGrace(doc: DesiredDocument): Promise<string | null> {
    const ids = Object.entries(doc.rules ?? {}).flatMap(([name, text]) => loadRuleFile(name, text).rules.map((r) => r.id));
    const deadline = Date.now() + (this.opts.graceMs ?? 5_000);
    let live = false;
    for (;;) {
      const health = this.opts.health();
      if (health !== 'ok' && health !== 'starting') return `health: ${health} within the grace period`;
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
    const drift = r.status === 'applied' || !this.applied ? [] : this.drift(this.applied);
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
