// The rule engine (SPEC §5): every durable event, in log order, goes to the rules its index
// entry names; each rule keeps independent state per group and decides, synchronously,
// whether the event raises or clears an alert. What it decides leaves as AlertIntents, in
// order, for the caller to store and deliver — the engine itself never writes. Each kind of
// rule (kinds/) owns its groups' state; the engine picks the kind, dispatches, and keeps the
// clocks.
//
// Time: windows, `for`, sequences and cooldowns run on event time — the gateway clock at
// receipt, less the age the publisher's own time gave the reading (time/timeline.ts) — read
// from the stored event alone, so a replay of the log decides what the live run decided,
// and a step of the wall clock moves nothing. Absence runs on the gateway clock (a silent
// sensor sends no timestamps), or on event time while replaying.
import type { EdgeEvent } from '../events/types.js';
import type { AlertIntent } from './alerts.js';
import { eventTime } from './event-time.js';
import { AbsenceRule, type AbsentGroupSnapshot } from './kinds/absence.js';
import type { DecisionClock, RuleContext, RuleKind } from './kinds/kind.js';
import { PerEventRule } from './kinds/per-event.js';
import { SequenceRule } from './kinds/sequence.js';
import { SustainedRule } from './kinds/sustained.js';
import { WindowRule } from './kinds/window.js';
import { RuleIndex } from './rule-index.js';
import { emittedBy } from './trace.js';
import type { CompiledRule } from './types.js';

export type { AbsentGroupSnapshot } from './kinds/absence.js';
export type AbsentSnapshot = Record<string, Record<string, AbsentGroupSnapshot>>;

export interface EngineOptions {
  gatewayId: string;
  /** The gateway clock, for absence. */
  now?: () => number;
  /** An event's time on the gateway clock; default: its timestamp. */
  timeOf?: (e: EdgeEvent) => number;
  /** A gateway-clock reading as wall-clock time, for an alert's timestamp; default: the same. */
  wallOf?: (g: number) => number;
  onAlert: (alert: AlertIntent) => void;
}

/** The loader gives a rule one of `sequence`, `absent`, `for`, `window` at most; none: per event. */
function kindOf(rule: CompiledRule, ctx: RuleContext): RuleKind {
  if (rule.sequence !== null) return new SequenceRule(rule, ctx, rule.sequence);
  if (rule.absentMs !== null) return new AbsenceRule(rule, ctx, rule.absentMs);
  if (rule.sustainedMs !== null) return new SustainedRule(rule, ctx, rule.sustainedMs);
  if (rule.window !== null) return new WindowRule(rule, ctx, rule.window);
  return new PerEventRule(rule, ctx);
}

export class RuleEngine {
  private kinds = new Map<string, RuleKind>();
  /** The rules with timers and a snapshot, of those in `kinds`. */
  private absences: AbsenceRule[] = [];
  private index = new RuleIndex<RuleKind>([]);
  private readonly ctx: RuleContext;
  private readonly live: DecisionClock;
  private readonly replaying: DecisionClock = { live: false, at: (t) => t };
  private timersArmed = false;

  constructor(opts: EngineOptions) {
    const now = opts.now ?? Date.now;
    this.ctx = { gatewayId: opts.gatewayId, onAlert: opts.onAlert, now, timeOf: opts.timeOf ?? eventTime, wallOf: opts.wallOf ?? ((g) => g) };
    this.live = { live: true, at: () => now() };
  }

  get rules(): CompiledRule[] {
    return [...this.kinds.values()].map((k) => k.rule);
  }

  /** Every alert raised and not cleared, per rule and group (what a restart must show again). */
  activeAlerts(): { rule: string; group: string }[] {
    return [...this.kinds.values()].flatMap((k) => k.activeGroups().map((group) => ({ rule: k.rule.id, group })));
  }

  /**
   * Loads a rule set. A rule that is the same object as before keeps its state (hot reload
   * of another file does not reset it); a new or changed rule starts empty.
   */
  setRules(rules: readonly CompiledRule[]): void {
    const next = new Map<string, RuleKind>();
    for (const rule of rules) {
      const old = this.kinds.get(rule.id);
      if (old && old.rule === rule) {
        next.set(rule.id, old);
        continue;
      }
      if (old instanceof AbsenceRule) old.stop();
      next.set(rule.id, kindOf(rule, this.ctx));
    }
    for (const [id, old] of this.kinds) if (!next.has(id) && old instanceof AbsenceRule) old.stop();
    this.kinds = next;
    this.absences = [...next.values()].filter((k) => k instanceof AbsenceRule);
    this.index = new RuleIndex([...next.values()].flatMap((kind) => kind.filedUnder.map((match) => ({ rule: kind.rule, match, value: kind }))));
    if (this.timersArmed) this.armAbsence();
  }

  /** Events in log order. */
  process(events: readonly EdgeEvent[]): void {
    for (const e of events) this.processOne(e, this.live);
  }

  /** Replays stored events: the same decisions, absence on event time, no timers. */
  replay(events: readonly EdgeEvent[]): void {
    for (const e of events) this.processOne(e, this.replaying);
  }

  private processOne(e: EdgeEvent, clock: DecisionClock): void {
    // The index's lists are never changed once made: an alert decided here may re-enter.
    const candidates = this.index.candidates(e);
    const n = candidates.length;
    if (n === 0) return;
    const t = this.ctx.timeOf(e);
    // What a rule emitted (an alert, a derived event, an action's Command) comes back
    // through the log; a rule never reacts to its own, or one emission could feed the next.
    const alertOf = e.type === 'Alert' ? e.payload.rule : undefined;
    const made = alertOf === undefined && e.type !== 'DeviceData' && e.source === this.ctx.gatewayId;
    for (let i = 0; i < n; i++) {
      const kind = candidates[i].value;
      if (alertOf !== undefined ? alertOf === kind.rule.id : made && emittedBy(kind.rule, e.id)) continue;
      kind.evaluate(e, t, clock);
    }
  }

  /** Starts absence timers for every group known (after a rebuild, or at start). */
  armAbsence(): void {
    this.timersArmed = true;
    for (const a of this.absences) a.arm();
  }

  /** Backtests: the absences due by `at` (no timers run there), in group order. */
  settleAbsence(at: number): void {
    for (const a of this.absences) a.settle(at);
  }

  absentSnapshot(): AbsentSnapshot {
    const out: AbsentSnapshot = {};
    for (const a of this.absences) out[a.rule.id] = a.snapshot();
    return out;
  }

  /** Groups an absence rule saw before a restart, so one that never came back is noticed. */
  restoreAbsent(snapshot: AbsentSnapshot): void {
    for (const [ruleId, groups] of Object.entries(snapshot)) {
      const kind = this.kinds.get(ruleId);
      if (kind instanceof AbsenceRule) kind.restore(groups);
    }
  }

  stop(): void {
    this.timersArmed = false;
    for (const a of this.absences) a.stop();
  }
}
