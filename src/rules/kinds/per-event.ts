// A rule with none of `window`, `for`, `sequence`, `absent` (SPEC §5): each event is judged
// alone, by `where` (and whatever `having` says of that one event). The incident lasts while
// its events keep meeting the condition.
import type { EdgeEvent } from '../../events/types.js';
import { triggerOf } from '../trace.js';
import type { DecisionClock } from './kind.js';
import { clears, GroupedRule, holds, type Incident } from './grouped-rule.js';

export class PerEventRule extends GroupedRule<Incident> {
  protected override newGroup(): Incident {
    return { active: false, lastRaise: null, correlation: null };
  }

  override evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void {
    const { rule } = this;
    const passes = rule.where === null || rule.where(e);
    if (!passes && this.active === 0) return;
    const key = this.groupOf(e);
    const g = this.group(key);
    const value = this.oneEventReader(e);

    if (g.active && rule.clear !== null) {
      if (clears(rule, rule.clear, e, passes, value)) this.clear(key, g, this.oneEvent(e), e, t, clock);
      return;
    }
    const condition = passes && holds(rule.having, value);
    if (!g.active && condition && this.cooled(g, t)) {
      this.raise(key, g, String(e.seq), this.oneEvent(e), [e.id], triggerOf(e), e, t, clock);
    } else if (g.active && rule.clear === null && !condition) {
      // No hysteresis: the incident is over when its condition is; the next one may raise.
      this.setActive(g, false);
    }
  }
}
