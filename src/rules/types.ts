// The rule language of SPEC §5, compiled: what the loader produces from `rules/*.yaml` and
// what the engine runs. Conditions and aggregates are compiled once, at load, into plain
// functions, so an event costs only the rules whose index entry it hits.
import type { EdgeEvent, EventType, JsonObject, Priority } from '../events/types.js';
import type { Trigger } from './trace.js';

/** A mistake in a rule, at a path inside its YAML (the loader turns the path into a line). */
export class RuleError extends Error {
  constructor(readonly path: readonly (string | number)[], message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

export type Predicate = (e: EdgeEvent) => boolean;

/** Which events a rule (or a sequence step) looks at: every listed part must match. */
export interface RuleMatch {
  types: readonly EventType[] | null;
  /** Sensor types (`sensor.type`). */
  sensors: readonly string[] | null;
  /** Source patterns: `*` matches any run of characters. */
  sources: readonly string[] | null;
}

export type WindowSpec =
  | { kind: 'sliding'; ms: number }
  | { kind: 'tumbling'; ms: number }
  | { kind: 'count'; n: number }
  | { kind: 'session'; gapMs: number };

export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'stddev' | 'first' | 'last' | 'delta' | 'rate' | 'distinct';

/** `count`, `max(value)`, `distinct(payload.door)`: the key as written is its name in templates and payloads. */
export interface AggregateRef {
  key: string;
  fn: AggregateFn;
  /** The event path it reads; null for `count`. */
  field: string | null;
}

/** One `having` entry: an aggregate and the test its value must pass. */
export interface HavingClause {
  aggregate: AggregateRef;
  test: (value: number | null) => boolean;
}

export interface SequenceStep {
  as: string;
  match: RuleMatch;
  where: Predicate | null;
  /** How long after the previous step this one may come; null for the first step or no limit. */
  withinMs: number | null;
}

export type Severity = 'info' | 'warning' | 'critical';

/** What a rule's `emit` makes: an alert (the default) or a derived event of one of the other types. */
export const EMIT_TYPES = ['Alert', 'BusinessEvent', 'Command', 'SystemEvent'] as const;
export type EmitType = (typeof EMIT_TYPES)[number];

export interface RuleEmit {
  type: EmitType;
  /** An alert's; a derived event has none (its templates still read `{severity}` as the default). */
  severity: Severity;
  priority: Priority;
  /**
   * Template: `{rule}`, `{group}`, `{state}`, `{severity}`, `{correlationId}`, aggregates such
   * as `{max(value)}`, event paths `{source}`, `{value}`.
   */
  topic: string;
  /** An alert's message; unused by a derived event. */
  message: string;
  /** A derived event's payload: its strings are templates (a lone `{x}` keeps the value's type). Null for an alert. */
  payload: JsonObject | null;
}

export interface RuleAction {
  publish: { topic: string; payload: string; qos: 0 | 1; retain: boolean };
}

export interface CompiledRule {
  id: string;
  description: string | null;
  /** Where it was defined, for messages. */
  file: string;
  line: number;
  match: RuleMatch;
  where: Predicate | null;
  /** Event paths whose values, joined by '/', name the group; null: one group, named by the rule. */
  groupBy: readonly string[] | null;
  window: WindowSpec | null;
  /** Every clause must hold (an empty list holds). */
  having: readonly HavingClause[];
  /** `for`: where must have held for every event over this long. */
  sustainedMs: number | null;
  sequence: readonly SequenceStep[] | null;
  /** `absent`: no matching event for this long after the last one (gateway clock). */
  absentMs: number | null;
  emit: RuleEmit;
  /** Hysteresis: an active alert is cleared (once) by an event passing this. */
  clear: { where: Predicate | null; having: readonly HavingClause[] } | null;
  cooldownMs: number;
  actions: readonly RuleAction[];
  /** Every aggregate the rule names (in having, clear, templates): computed for its payload. */
  aggregates: readonly AggregateRef[];
}

/** The state of a rule's window for one group. Event time is the event's `timestamp` in ms. */
export interface WindowState {
  /** Adds an event at its event time; events that fall out of the window are dropped. */
  add(event: EdgeEvent, time: number): void;
  /** How many events it holds. */
  size(): number;
  /** The ids of the newest events in the window (WINDOW_IDS at most), oldest first. */
  ids(): string[];
  /** One of the aggregates the window was made for. */
  value(ref: AggregateRef): number | null;
  /** All of them, by key. */
  values(): Record<string, number | null>;
  /** A name for the current window instance (tumbling bucket, session start): part of alert ids. */
  key(): string;
  /** The event of the first of ids(), as far as a correlation needs it; null when empty. */
  trigger(): Trigger | null;
}
