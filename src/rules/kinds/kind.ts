// What the engine asks of a rule, whatever its kind (SPEC §5: a window, `for`, `sequence`,
// `absent`, or a condition per event): judge one event its index entry let through. Each
// kind keeps its own state per group; the engine only dispatches.
import type { EdgeEvent } from '../../events/types.js';
import type { AlertIntent } from '../alerts.js';
import type { CompiledRule, RuleMatch } from '../types.js';

export interface RuleKind {
  readonly rule: CompiledRule;
  /** What the rule index files it under: events matching none of these never reach it. */
  readonly filedUnder: readonly RuleMatch[];
  /** One event, in log order; `t` its event time (the engine's `timeOf`, read once per event). */
  evaluate(e: EdgeEvent, t: number, clock: DecisionClock): void;
  /** The groups whose alert is raised and not yet cleared. */
  activeGroups(): string[];
}

/**
 * The clock a pass over events decides on. Live, an alert is stamped with the gateway clock
 * when it is decided, and absence arms timers on it. Replaying, an alert is stamped with the
 * deciding event's own time, so a replay makes what the live run made, and nothing is armed:
 * the replayed past has no future to wait for.
 */
export interface DecisionClock {
  readonly live: boolean;
  /** The gateway-clock time of a decision made on an event of event time `t`. */
  at(t: number): number;
}

/** What every rule shares with its engine: the clocks, and where its alerts go. */
export interface RuleContext {
  gatewayId: string;
  /** The gateway clock. */
  now: () => number;
  /** An event's time on the gateway clock. */
  timeOf: (e: EdgeEvent) => number;
  /** A gateway-clock reading as wall-clock time, for an alert's timestamp. */
  wallOf: (g: number) => number;
  onAlert: (alert: AlertIntent) => void;
}
