// A sustained rule (SPEC §5 `for`): `where` must have held for every reading of the group
// over the whole duration, in event time. Each group remembers when its current run of
// passing readings began; a failing reading ends the run (and, without `clear`, the incident).
import type { EdgeEvent } from '../../events/types.js';
import { triggerOf } from '../trace.js';
import type { CompiledRule } from '../types.js';
import type { DecisionClock, RuleContext } from './kind.js';
import { clears, GroupedRule, type Incident } from './grouped-rule.js';

interface SustainedGroup extends Incident {
  /** The first reading of the run under way, and its event time; null: no run. */
  streakFirst: EdgeEvent | null;
  streakStart: number;
}

export class SustainedRule extends GroupedRule<SustainedGroup> {
  /** Groups with a run under way: with none (and nothing active) a failing reading changes nothing. */
  private streaks = 0;

  constructor(rule: CompiledRule, ctx: RuleContext, private readonly sustainedMs: number) {
    super(rule, ctx);
  }

  protected override newGroup(): SustainedGroup {
    return { active: false, lastRaise: null, correlation: null, streakFirst: null, streakStart: 0 };
  }

  override evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void {
    const { rule } = this;
    const passes = rule.where === null || rule.where(e);
    if (!passes && this.active === 0 && this.streaks === 0) return;
    const key = this.groupOf(e);
    const g = this.group(key);

    if (g.active && rule.clear !== null) {
      if (clears(rule, rule.clear, e, passes, this.oneEventReader(e))) {
        this.setStreak(g, null, 0);
        this.clear(key, g, this.oneEvent(e), e, t, clock);
      }
      return;
    }
    if (!passes) {
      this.setStreak(g, null, 0);
      // Without `clear` (with it, an active group returned above), the run was the incident.
      if (g.active) this.setActive(g, false);
      return;
    }
    let first = g.streakFirst;
    if (first === null) this.setStreak(g, (first = e), t);
    if (!g.active && t - g.streakStart >= this.sustainedMs && this.cooled(g, t)) {
      this.raise(key, g, String(first.seq), this.oneEvent(e), [first.id, e.id], triggerOf(first), e, t, clock);
    }
  }

  private setStreak(g: SustainedGroup, first: EdgeEvent | null, start: number): void {
    if ((g.streakFirst === null) !== (first === null)) this.streaks += first === null ? -1 : 1;
    g.streakFirst = first;
    g.streakStart = start;
  }
}
