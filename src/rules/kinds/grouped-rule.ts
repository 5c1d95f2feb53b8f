// What every kind of rule does the same way (SPEC §5, README "Rules"): independent state per
// group, an alert raised once per incident and kept active until cleared or over, `clear`
// hysteresis, the cooldown, the incident's correlation (trace.ts), and alerts made by
// buildAlert with ids `alert:<rule>:<group>:<key>:<state>`. A kind adds its own per-group
// state and decides when.
import type { EdgeEvent } from '../../events/types.js';
import { computeAggregates } from '../aggregates.js';
import { buildAlert, type AlertState } from '../alerts.js';
import { groupKey } from '../group-key.js';
import { correlationOf, triggerOf, type Trigger } from '../trace.js';
import type { AggregateRef, CompiledRule, HavingClause, RuleMatch } from '../types.js';
import type { DecisionClock, RuleContext, RuleKind } from './kind.js';

/** What every kind remembers of a group. */
export interface Incident {
  /** An alert raised and not yet cleared or over: more readings that meet the condition raise nothing. */
  active: boolean;
  /** Event time of the last raise, for the cooldown. */
  lastRaise: number | null;
  /** The correlation id of the last raise: its clear belongs to the same incident. */
  correlation: string | null;
}

export type AggregateReader = (ref: AggregateRef) => number | null;
const NOTHING: AggregateReader = () => null;

export function holds(clauses: readonly HavingClause[], value: AggregateReader): boolean {
  for (const c of clauses) if (!c.test(value(c.aggregate))) return false;
  return true;
}

/**
 * Hysteresis: whether `e` ends an active incident. With `clear.where` or `clear.having`, only
 * an event passing them does; a bare `clear` ends it when the rule's own condition stops holding.
 */
export function clears(rule: CompiledRule, clear: NonNullable<CompiledRule['clear']>, e: EdgeEvent, passes: boolean, value: AggregateReader): boolean {
  const explicit = clear.where !== null || clear.having.length > 0;
  return explicit
    ? (clear.where === null || clear.where(e)) && holds(clear.having, value)
    : !(passes && holds(rule.having, value));
}

export abstract class GroupedRule<G extends Incident> implements RuleKind {
  /**
   * Groups with an active alert. With none, a reading that fails `where` has nothing to do:
   * the common case of a busy gateway, skipped before its group is even looked up.
   */
  protected active = 0;
  protected readonly groups = new Map<string, G>();
  protected readonly groupOf: (e: EdgeEvent) => string;
  /**
   * Whether a rule without a window has `having` clauses to test over its one event. The
   * loader asks for a window first, so none of its rules do; the type allows it.
   */
  private readonly testsOneEvent: boolean;

  constructor(readonly rule: CompiledRule, protected readonly ctx: RuleContext) {
    this.groupOf = groupKey(rule);
    this.testsOneEvent = rule.having.length > 0 || (rule.clear !== null && rule.clear.having.length > 0);
  }

  get filedUnder(): readonly RuleMatch[] {
    return [this.rule.match];
  }

  abstract evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void;

  protected abstract newGroup(): G;

  protected group(key: string): G {
    let g = this.groups.get(key);
    if (!g) {
      g = this.newGroup();
      this.groups.set(key, g);
    }
    return g;
  }

  protected setActive(g: G, active: boolean): void {
    if (g.active === active) return;
    g.active = active;
    this.active += active ? 1 : -1;
  }

  activeGroups(): string[] {
    if (this.active === 0) return [];
    const out: string[] = [];
    for (const [key, g] of this.groups) if (g.active) out.push(key);
    return out;
  }

  protected cooled(g: G, t: number): boolean {
    return g.lastRaise === null || t - g.lastRaise >= this.rule.cooldownMs;
  }

  /** The aggregates of a rule without a window, over its one event: what a raise or clear carries. */
  protected oneEvent(e: EdgeEvent): Record<string, number | null> {
    return computeAggregates(this.rule.aggregates, [e], this.ctx.timeOf);
  }

  /** The same, read one by one while deciding; built only when the rule tests any. */
  protected oneEventReader(e: EdgeEvent): AggregateReader {
    if (!this.testsOneEvent) return NOTHING;
    const values = this.oneEvent(e);
    return (ref) => values[ref.key] ?? null;
  }

  /**
   * `key`: what makes the alert unique within its rule and group (the deciding event's seq,
   * for one); `trigger`: the first of `ids`, whose correlation the incident takes; `e`: the
   * deciding event, its cause.
   */
  protected raise(group: string, g: G, key: string, aggregates: Record<string, number | null>, ids: readonly string[],
    trigger: Trigger, e: EdgeEvent, t: number, clock: DecisionClock): void {
    this.setActive(g, true);
    g.lastRaise = t;
    g.correlation = correlationOf(trigger);
    this.emit(group, 'raised', key, aggregates, ids, g.correlation, e.id, e, clock.at(t));
  }

  /**
   * Ends an active incident with a `cleared` alert, decided (and caused) by `e`; it continues
   * the raise's correlation. A derived event has no clear: the incident just ends.
   */
  protected clear(group: string, g: G, aggregates: Record<string, number | null>, e: EdgeEvent, t: number, clock: DecisionClock): void {
    this.setActive(g, false);
    const correlation = g.correlation ?? correlationOf(triggerOf(e));
    g.correlation = null;
    if (this.rule.emit.type !== 'Alert') return;
    this.emit(group, 'cleared', String(e.seq), aggregates, [e.id], correlation, e.id, e, clock.at(t));
  }

  /** `at`: when it was decided, on the gateway clock. */
  protected emit(group: string, state: AlertState, key: string, aggregates: Record<string, number | null>,
    ids: readonly string[], correlationId: string | null, causationId: string | null, event: EdgeEvent | null, at: number): void {
    const { ctx } = this;
    ctx.onAlert(buildAlert(ctx.gatewayId, {
      rule: this.rule, group, state, key, aggregates, ids, correlationId, causationId, event, now: at, wall: ctx.wallOf(at),
    }));
  }
}
