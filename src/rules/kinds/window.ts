// A windowed rule (SPEC §5 `window` + `having`): each group keeps an event-time window of the
// readings that pass `where`, its aggregates kept up to date as readings enter and leave it
// (windows.ts), and the rule judges `having` over them at every reading.
import type { EdgeEvent } from '../../events/types.js';
import type { CompiledRule, WindowSpec, WindowState } from '../types.js';
import { triggerOf } from '../trace.js';
import { createWindow, WINDOW_CAP } from '../windows.js';
import type { DecisionClock, RuleContext } from './kind.js';
import { clears, GroupedRule, holds, type AggregateReader, type Incident } from './grouped-rule.js';

interface WindowGroup extends Incident {
  window: WindowState;
  /** Reads one aggregate while deciding; the full record is built only for an alert. */
  read: AggregateReader;
}

export class WindowRule extends GroupedRule<WindowGroup> {
  constructor(rule: CompiledRule, ctx: RuleContext, private readonly spec: WindowSpec) {
    super(rule, ctx);
  }

  protected override newGroup(): WindowGroup {
    const window = createWindow(this.spec, this.rule.aggregates, WINDOW_CAP);
    return { active: false, lastRaise: null, correlation: null, window, read: (ref) => window.value(ref) };
  }

  override evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void {
    const { rule } = this;
    const passes = rule.where === null || rule.where(e);
    if (!passes && this.active === 0) return;
    const key = this.groupOf(e);
    const g = this.group(key);
    if (passes) g.window.add(e, t);

    if (g.active && rule.clear !== null) {
      if (clears(rule, rule.clear, e, passes, g.read)) this.clear(key, g, g.window.values(), e, t, clock);
      return;
    }
    const condition = passes && holds(rule.having, g.read);
    if (!g.active && condition && this.cooled(g, t)) {
      // A window that dropped even `e` (too late for it): the deciding event opens the incident.
      this.raise(key, g, String(e.seq), g.window.values(), g.window.ids(), g.window.trigger() ?? triggerOf(e), e, t, clock);
    } else if (g.active && rule.clear === null && !condition) {
      // No hysteresis: the incident is over when its condition is; the next one may raise.
      this.setActive(g, false);
    }
  }
}
