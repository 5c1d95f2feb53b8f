// The rule engine (SPEC §5): every durable event, in log order, goes to the rules its index
// entry names; each rule keeps independent state per group and decides, synchronously,
// whether the event raises or clears an alert. What it decides leaves as AlertIntents, in
// order, for the caller to store and deliver — the engine itself never writes.
//
// Time: windows, `for`, sequences and cooldowns run on event time — the gateway clock at
// receipt, less the age the publisher's own time gave the reading (time/timeline.ts) — read
// from the stored event alone, so a replay of the log decides what the live run decided,
// and a step of the wall clock moves nothing. Absence runs on the gateway clock (a silent
// sensor sends no timestamps), or on event time while replaying: which one, and whether
// timers may be armed, travels with each call as its DecisionClock.
import type { EdgeEvent } from '../events/types.js';
import { computeAggregates } from './aggregates.js';
import { buildAlert, type AlertIntent, type AlertState } from './alerts.js';
import { eventTime } from './event-time.js';
import { timerDelay } from '../util/timer-delay.js';
import { groupKey } from './group-key.js';
import { matcher, RuleIndex } from './rule-index.js';
import { createWindow, WINDOW_CAP } from './windows.js';
import type { AggregateRef, CompiledRule, HavingClause, SequenceStep, WindowState } from './types.js';

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

interface GroupState {
  active: boolean;
  /** Event time of the last raise, for the cooldown. */
  lastRaise: number | null;
  /** With its aggregates, kept as events enter and leave it, and a reader bound to them. */
  window: WindowState | null;
  read: AggregateReader | null;
  /** `for`: when the current run of passing events began, and its first event. */
  streakStart: number | null;
  streakFirst: EdgeEvent | null;
  /** `sequence`: the next step, the events so far, the time of the last one. */
  step: number;
  steps: EdgeEvent[];
  stepTime: number;
  /** `absent`: when the group was last seen, and by which event. */
  lastSeen: number;
  lastEvent: { id: string; seq: number } | null;
  timer: NodeJS.Timeout | null;
}

interface RuleState {
  rule: CompiledRule;
  /** Groups with an active alert, and (`for`) with a run of passing readings under way: with
   * neither, a reading that fails `where` has nothing to do. */
  active: number;
  streaks: number;
  groupOf: (e: EdgeEvent) => string;
  groups: Map<string, GroupState>;
  steps: { step: SequenceStep; matches: (e: EdgeEvent) => boolean }[] | null;
}

/** What an absence rule remembers of a group across a restart. */
export interface AbsentGroupSnapshot {
  lastSeen: number;
  id: string;
  seq: number;
  active: boolean;
}
export type AbsentSnapshot = Record<string, Record<string, AbsentGroupSnapshot>>;

/**
 * The clock a pass over events decides on. Live, an alert is stamped with the gateway clock
 * when it is decided, and absence arms timers on it. Replaying, an alert is stamped with the
 * deciding event's own time, so a replay makes what the live run made, and nothing is armed:
 * the replayed past has no future to wait for.
 */
interface DecisionClock {
  readonly live: boolean;
  /** The gateway-clock time of a decision made on an event of event time `t`. */
  at(t: number): number;
}

type AggregateReader = (ref: AggregateRef) => number | null;
const NOTHING: AggregateReader = () => null;

function holds(clauses: readonly HavingClause[], value: AggregateReader): boolean {
  for (const c of clauses) if (!c.test(value(c.aggregate))) return false;
  return true;
}

export class RuleEngine {
  private states = new Map<string, RuleState>();
  private index = new RuleIndex<RuleState>([]);
  private readonly now: () => number;
  private readonly timeOf: (e: EdgeEvent) => number;
  private readonly wallOf: (g: number) => number;
  private readonly live: DecisionClock;
  private readonly replaying: DecisionClock = { live: false, at: (t) => t };
  private timersArmed = false;

  constructor(private readonly opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
    this.timeOf = opts.timeOf ?? eventTime;
    this.wallOf = opts.wallOf ?? ((g) => g);
    const now = this.now;
    this.live = { live: true, at: () => now() };
  }

  get rules(): CompiledRule[] {
    return [...this.states.values()].map((s) => s.rule);
  }

  /**
   * Loads a rule set. A rule that is the same object as before keeps its state (hot reload
   * of another file does not reset it); a new or changed rule starts empty.
   */
  setRules(rules: readonly CompiledRule[]): void {
    const next = new Map<string, RuleState>();
    for (const rule of rules) {
      const old = this.states.get(rule.id);
      if (old && old.rule === rule) {
        next.set(rule.id, old);
        continue;
      }
      if (old) this.dropTimers(old);
      next.set(rule.id, {
        rule, active: 0, streaks: 0, groupOf: groupKey(rule), groups: new Map(),
        steps: rule.sequence === null ? null : rule.sequence.map((step) => ({ step, matches: matcher(step.match) })),
      });
    }
    for (const [id, old] of this.states) if (!next.has(id)) this.dropTimers(old);
    this.states = next;
    const entries: { rule: CompiledRule; match: CompiledRule['match']; value: RuleState }[] = [];
    for (const s of next.values()) {
      if (s.rule.sequence === null) entries.push({ rule: s.rule, match: s.rule.match, value: s });
      else for (const step of s.rule.sequence) entries.push({ rule: s.rule, match: step.match, value: s });
    }
    this.index = new RuleIndex(entries);
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
    const t = this.timeOf(e);
    const alertOf = e.type === 'Alert' ? e.payload.rule : undefined;
    for (let i = 0; i < n; i++) {
      const state = candidates[i].value;
      // A rule never reacts to its own alerts.
      if (alertOf !== undefined && alertOf === state.rule.id) continue;
      this.evaluate(state, e, t, clock);
    }
  }

  private group(state: RuleState, key: string): GroupState {
    let g = state.groups.get(key);
    if (!g) {
      const { rule } = state;
      const window = rule.window ? createWindow(rule.window, rule.aggregates, WINDOW_CAP) : null;
      g = {
        active: false, lastRaise: null, window, read: window !== null ? (ref) => window.value(ref) : null,
        streakStart: null, streakFirst: null, step: 0, steps: [], stepTime: 0, lastSeen: 0, lastEvent: null, timer: null,
      };
      state.groups.set(key, g);
    }
    return g;
  }

  private evaluate(state: RuleState, e: EdgeEvent, t: number, clock: DecisionClock): void {
    const { rule } = state;
    if (state.steps !== null) return this.sequence(state, state.groupOf(e), e, t, clock);
    // A sequence's rule-level match is its steps'; every other rule is matched as a whole.
    const passes = rule.where === null || rule.where(e);
    // The common case of a busy gateway: a reading a rule lets pass, with nothing raised.
    if (!passes && state.active === 0 && state.streaks === 0 && rule.absentMs === null) return;
    const key = state.groupOf(e);
    const g = this.group(state, key);
    if (rule.absentMs !== null) {
      if (passes) this.seen(state, key, g, e, t, clock);
      return;
    }
    if (passes && g.window !== null) g.window.add(e, t);
    // Aggregates are read one by one while deciding; the full record only for an alert.
    const value = g.read ?? this.single(rule, e);

    if (g.active && rule.clear !== null) {
      const clear = rule.clear;
      const explicit = clear.where !== null || clear.having.length > 0;
      const cleared = explicit
        ? (clear.where === null || clear.where(e)) && holds(clear.having, value)
        : !(passes && holds(rule.having, value));
      if (cleared) {
        this.setActive(state, g, false);
        this.setStreak(state, g, null, null);
        this.emit(state, key, 'cleared', String(e.seq), this.record(rule, g, e), [e.id], e, clock.at(t));
      }
      return;
    }

    if (rule.sustainedMs !== null) {
      if (!passes) {
        this.setStreak(state, g, null, null);
        if (g.active && rule.clear === null) this.setActive(state, g, false);
        return;
      }
      if (g.streakStart === null) this.setStreak(state, g, t, e);
      if (!g.active && t - g.streakStart! >= rule.sustainedMs && this.cooled(state, g, t)) {
        this.raise(state, key, g, String(g.streakFirst!.seq), this.record(rule, g, e), [g.streakFirst!.id, e.id], e, t, clock);
      }
      return;
    }

    const condition = passes && holds(rule.having, value);
    if (!g.active && condition && this.cooled(state, g, t)) {
      this.raise(state, key, g, String(e.seq), this.record(rule, g, e), g.window !== null ? g.window.ids() : [e.id], e, t, clock);
    } else if (g.active && rule.clear === null && !condition) {
      // No hysteresis: the incident is over when its condition is; the next one may raise.
      this.setActive(state, g, false);
    }
  }

  private sequence(state: RuleState, key: string, e: EdgeEvent, t: number, clock: DecisionClock): void {
    const steps = state.steps!;
    const g = this.group(state, key);
    const stepMatches = (i: number) => steps[i].matches(e) && (steps[i].step.where === null || steps[i].step.where!(e));
    if (g.step > 0) {
      const within = steps[g.step].step.withinMs;
      if (within !== null && t - g.stepTime > within) {
        g.step = 0;
        g.steps = [];
      }
    }
    if (stepMatches(g.step)) {
      g.steps.push(e);
      g.step++;
      g.stepTime = t;
      if (g.step === steps.length) {
        const events = g.steps;
        g.step = 0;
        g.steps = [];
        if (this.cooled(state, g, t)) {
          const aggregates = computeAggregates(state.rule.aggregates, events, this.timeOf);
          this.raise(state, key, g, String(events[0].seq), aggregates, events.map((s) => s.id), e, t, clock);
          // A sequence is an incident in itself: nothing holds it open to be cleared.
          this.setActive(state, g, false);
        }
      }
    } else if (g.step > 0 && stepMatches(0)) {
      // A new first step replaces a half-done sequence: the latest start is the one that counts.
      g.steps = [e];
      g.step = 1;
      g.stepTime = t;
    }
  }

  private record(rule: CompiledRule, g: GroupState, e: EdgeEvent): Record<string, number | null> {
    return g.window !== null ? g.window.values() : computeAggregates(rule.aggregates, [e], this.timeOf);
  }

  private setStreak(state: RuleState, g: GroupState, start: number | null, first: EdgeEvent | null): void {
    if ((g.streakStart === null) !== (start === null)) state.streaks += start === null ? -1 : 1;
    g.streakStart = start;
    g.streakFirst = first;
  }

  private setActive(state: RuleState, g: GroupState, active: boolean): void {
    if (g.active === active) return;
    g.active = active;
    state.active += active ? 1 : -1;
  }

  /** A rule without a window aggregates over the one event; usually it names none. */
  private single(rule: CompiledRule, e: EdgeEvent): AggregateReader {
    if (rule.having.length === 0 && (rule.clear === null || rule.clear.having.length === 0)) return NOTHING;
    const values = computeAggregates(rule.aggregates, [e], this.timeOf);
    return (ref) => values[ref.key] ?? null;
  }

  private cooled(state: RuleState, g: GroupState, t: number): boolean {
    return g.lastRaise === null || t - g.lastRaise >= state.rule.cooldownMs;
  }

  private raise(state: RuleState, key: string, g: GroupState, decisive: string, aggregates: Record<string, number | null>,
    ids: readonly string[], e: EdgeEvent, t: number, clock: DecisionClock): void {
    this.setActive(state, g, true);
    g.lastRaise = t;
    this.emit(state, key, 'raised', decisive, aggregates, ids, e, clock.at(t));
  }

  /** `at`: when it was decided, on the gateway clock. */
  private emit(state: RuleState, group: string, alertState: AlertState, key: string, aggregates: Record<string, number | null>,
    ids: readonly string[], event: EdgeEvent | null, at: number): void {
    this.opts.onAlert(buildAlert(this.opts.gatewayId, {
      rule: state.rule, group, state: alertState, key, aggregates, ids, event, now: at, wall: this.wallOf(at),
    }));
  }

  // ---- absence ----------------------------------------------------------------------

  private seen(state: RuleState, key: string, g: GroupState, e: EdgeEvent, t: number, clock: DecisionClock): void {
    g.lastSeen = clock.at(t);
    g.lastEvent = { id: e.id, seq: e.seq };
    if (g.active) {
      this.setActive(state, g, false);
      this.emit(state, key, 'cleared', String(e.seq), {}, [e.id], e, clock.at(t));
    }
    if (this.timersArmed && clock.live) this.armGroup(state, key, g);
  }

  /** Starts absence timers for every group known (after a rebuild, or at start). */
  armAbsence(): void {
    this.timersArmed = true;
    for (const state of this.states.values()) {
      if (state.rule.absentMs === null) continue;
      for (const [key, g] of state.groups) this.armGroup(state, key, g);
    }
  }

  private armGroup(state: RuleState, key: string, g: GroupState): void {
    if (g.timer) clearTimeout(g.timer);
    g.timer = null;
    if (g.active || g.lastEvent === null) return;
    const due = g.lastSeen + state.rule.absentMs! - this.now();
    g.timer = setTimeout(() => {
      g.timer = null;
      if (g.active || g.lastEvent === null || this.states.get(state.rule.id) !== state) return;
      const at = this.now();
      // A delay past setTimeout's range was clamped: not due yet, wait again.
      if (at < g.lastSeen + state.rule.absentMs!) return this.armGroup(state, key, g);
      this.setActive(state, g, true);
      const last = g.lastEvent;
      // Keyed by the last event seen: a restart that finds the group still silent makes the same id.
      this.emit(state, key, 'raised', `absent-after-${last.seq}`, {}, [last.id], null, at);
    }, timerDelay(due));
    g.timer.unref();
  }

  /** Backtests: the absences due by `at` (no timers run there), in group order. */
  settleAbsence(at: number): void {
    for (const state of this.states.values()) {
      if (state.rule.absentMs === null) continue;
      for (const [key, g] of state.groups) {
        if (g.active || g.lastEvent === null || at - g.lastSeen < state.rule.absentMs) continue;
        this.setActive(state, g, true);
        this.emit(state, key, 'raised', `absent-after-${g.lastEvent.seq}`, {}, [g.lastEvent.id], null, g.lastSeen + state.rule.absentMs);
      }
    }
  }

  private dropTimers(state: RuleState): void {
    for (const g of state.groups.values()) {
      if (g.timer) clearTimeout(g.timer);
      g.timer = null;
    }
  }

  absentSnapshot(): AbsentSnapshot {
    const out: AbsentSnapshot = {};
    for (const state of this.states.values()) {
      if (state.rule.absentMs === null) continue;
      const groups: Record<string, AbsentGroupSnapshot> = {};
      for (const [key, g] of state.groups) {
        if (g.lastEvent !== null) groups[key] = { lastSeen: g.lastSeen, id: g.lastEvent.id, seq: g.lastEvent.seq, active: g.active };
      }
      out[state.rule.id] = groups;
    }
    return out;
  }

  /** Groups an absence rule saw before a restart, so one that never came back is noticed. */
  restoreAbsent(snapshot: AbsentSnapshot): void {
    for (const [ruleId, groups] of Object.entries(snapshot)) {
      const state = this.states.get(ruleId);
      if (!state || state.rule.absentMs === null) continue;
      for (const [key, s] of Object.entries(groups)) {
        const g = this.group(state, key);
        if (g.lastEvent !== null && g.lastEvent.seq >= s.seq) continue;
        g.lastSeen = s.lastSeen;
        g.lastEvent = { id: s.id, seq: s.seq };
        this.setActive(state, g, s.active);
      }
    }
  }

  stop(): void {
    this.timersArmed = false;
    for (const state of this.states.values()) this.dropTimers(state);
  }
}
