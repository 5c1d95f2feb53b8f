// A sequence rule (SPEC §5 `sequence`): steps matched in order per group, each `within` of
// the previous one in event time. The index files the rule under every step's match, so an
// event reaching it may be any step's; the last step raises, and the sequence starts over.
import type { EdgeEvent } from '../../events/types.js';
import { computeAggregates } from '../aggregates.js';
import { matcher } from '../rule-index.js';
import { triggerOf } from '../trace.js';
import type { CompiledRule, Predicate, RuleMatch, SequenceStep } from '../types.js';
import type { DecisionClock, RuleContext } from './kind.js';
import { GroupedRule, type Incident } from './grouped-rule.js';

interface SequenceGroup extends Incident {
  /** The next step, the events of the steps so far, and the event time of the last one. */
  step: number;
  matched: EdgeEvent[];
  stepTime: number;
}

interface Step {
  matches: (e: EdgeEvent) => boolean;
  where: Predicate | null;
  withinMs: number | null;
}

export class SequenceRule extends GroupedRule<SequenceGroup> {
  private readonly steps: readonly Step[];

  constructor(rule: CompiledRule, ctx: RuleContext, private readonly spec: readonly SequenceStep[]) {
    super(rule, ctx);
    this.steps = spec.map((s) => ({ matches: matcher(s.match), where: s.where, withinMs: s.withinMs }));
  }

  /**
   * Each step's own match, not the rule's: that is their union part by part, which also lets
   * through events that are no step's (one step's sensor from another step's source).
   */
  override get filedUnder(): readonly RuleMatch[] {
    return this.spec.map((s) => s.match);
  }

  protected override newGroup(): SequenceGroup {
    return { active: false, lastRaise: null, correlation: null, step: 0, matched: [], stepTime: 0 };
  }

  override evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void {
    const key = this.groupOf(e);
    const g = this.group(key);
    if (g.step > 0) {
      const within = this.steps[g.step].withinMs;
      if (within !== null && t - g.stepTime > within) {
        g.step = 0;
        g.matched = [];
      }
    }
    if (this.isStep(g.step, e)) {
      g.matched.push(e);
      g.step++;
      g.stepTime = t;
      if (g.step === this.steps.length) {
        const events = g.matched;
        g.step = 0;
        g.matched = [];
        if (this.cooled(g, t)) {
          const aggregates = computeAggregates(this.rule.aggregates, events, this.ctx.timeOf);
          this.raise(key, g, String(events[0].seq), aggregates, events.map((s) => s.id), triggerOf(events[0]), e, t, clock);
          // A sequence is an incident in itself: nothing holds it open to be cleared.
          this.setActive(g, false);
        }
      }
    } else if (g.step > 0 && this.isStep(0, e)) {
      // A new first step replaces a half-done sequence: the latest start is the one that counts.
      g.matched = [e];
      g.step = 1;
      g.stepTime = t;
    }
  }

  private isStep(i: number, e: EdgeEvent): boolean {
    const step = this.steps[i];
    return step.matches(e) && (step.where === null || step.where(e));
  }
}
