// An absence rule (SPEC §5 `absent`): a group that sends no matching event for this long is
// reported; its next event clears the alert. A silent sensor sends no timestamps, so this is
// the one kind that waits on the gateway clock: a timer per group, live. A replay records
// when each group was seen (at the event's own time) and arms nothing; a backtest asks what
// was due by its end (settle). What it knows of each group outlives a restart (snapshot).
//
// No event raises an absence: it continues the correlation of the last event seen from the
// group (its own id when it had none), and names that event as its cause.
import type { EdgeEvent } from '../../events/types.js';
import { timerDelay } from '../../util/timer-delay.js';
import { correlationOf } from '../trace.js';
import type { CompiledRule } from '../types.js';
import type { DecisionClock, RuleContext } from './kind.js';
import { GroupedRule, type Incident } from './grouped-rule.js';

/** What an absence rule remembers of a group across a restart. */
export interface AbsentGroupSnapshot {
  lastSeen: number;
  id: string;
  seq: number;
  active: boolean;
  /** That event's correlation id (absent from snapshots saved before correlations were kept). */
  correlationId?: string | null;
}

interface AbsenceGroup extends Incident {
  /** When the group was last seen on the gateway clock, and by which event (null: never). */
  lastSeen: number;
  lastId: string | null;
  lastSeq: number;
  lastCorrelation: string | null;
  timer: NodeJS.Timeout | null;
}

export class AbsenceRule extends GroupedRule<AbsenceGroup> {
  /** Timers run (the engine is live and started): a group seen arms its own. */
  private armed = false;

  constructor(rule: CompiledRule, ctx: RuleContext, private readonly absentMs: number) {
    super(rule, ctx);
  }

  protected override newGroup(): AbsenceGroup {
    return { active: false, lastRaise: null, correlation: null, lastSeen: 0, lastId: null, lastSeq: 0, lastCorrelation: null, timer: null };
  }

  override evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void {
    // `where` narrows what counts as seen; an event that fails it is no sign of life.
    if (this.rule.where !== null && !this.rule.where(e)) return;
    const key = this.groupOf(e);
    const g = this.group(key);
    g.lastSeen = clock.at(t);
    g.lastId = e.id;
    g.lastSeq = e.seq;
    g.lastCorrelation = e.metadata.correlationId;
    if (g.active) this.clear(key, g, {}, e, t, clock);
    if (this.armed && clock.live) this.armGroup(key, g);
  }

  /** Starts a timer for every group known (at start, after a rebuild or a reload). */
  arm(): void {
    this.armed = true;
    for (const [key, g] of this.groups) this.armGroup(key, g);
  }

  stop(): void {
    this.armed = false;
    for (const g of this.groups.values()) {
      if (g.timer) clearTimeout(g.timer);
      g.timer = null;
    }
  }

  private armGroup(key: string, g: AbsenceGroup): void {
    if (g.timer) clearTimeout(g.timer);
    g.timer = null;
    if (g.active || g.lastId === null) return;
    const { now } = this.ctx;
    g.timer = setTimeout(() => {
      g.timer = null;
      if (!this.armed || g.active || g.lastId === null) return;
      const at = now();
      // A delay past setTimeout's range was clamped: not due yet, wait again.
      if (at < g.lastSeen + this.absentMs) return this.armGroup(key, g);
      this.raiseAbsent(key, g, g.lastId, at);
    }, timerDelay(g.lastSeen + this.absentMs - now()));
    g.timer.unref();
  }

  /** Backtests: the absences due by `at` (no timers run there), in group order, each at its due time. */
  settle(at: number): void {
    for (const [key, g] of this.groups) {
      if (g.active || g.lastId === null || at - g.lastSeen < this.absentMs) continue;
      this.raiseAbsent(key, g, g.lastId, g.lastSeen + this.absentMs);
    }
  }

  private raiseAbsent(key: string, g: AbsenceGroup, lastId: string, at: number): void {
    this.setActive(g, true);
    g.correlation = correlationOf({ id: lastId, correlationId: g.lastCorrelation });
    // Keyed by the last event seen: a restart that finds the group still silent makes the same id.
    this.emit(key, 'raised', `absent-after-${g.lastSeq}`, {}, [lastId], g.correlation, lastId, null, at);
  }

  snapshot(): Record<string, AbsentGroupSnapshot> {
    const out: Record<string, AbsentGroupSnapshot> = {};
    for (const [key, g] of this.groups) {
      if (g.lastId !== null) out[key] = { lastSeen: g.lastSeen, id: g.lastId, seq: g.lastSeq, active: g.active, correlationId: g.lastCorrelation };
    }
    return out;
  }

  /** Groups seen before a restart, so one that never came back is noticed; a later sighting wins. */
  restore(groups: Readonly<Record<string, AbsentGroupSnapshot>>): void {
    for (const [key, s] of Object.entries(groups)) {
      const g = this.group(key);
      if (g.lastId !== null && g.lastSeq >= s.seq) continue;
      g.lastSeen = s.lastSeen;
      g.lastId = s.id;
      g.lastSeq = s.seq;
      g.lastCorrelation = s.correlationId ?? null;
      // An absence active across the restart was raised on that event: its clear continues it.
      g.correlation = s.active ? correlationOf({ id: s.id, correlationId: g.lastCorrelation }) : null;
      this.setActive(g, s.active);
    }
  }
}
