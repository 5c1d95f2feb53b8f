// Aggregates of SPEC §5 (`count`, `max(value)`, …): parsed at load, computed over a
// window's events. `having` reuses the condition operators so both speak one language.
import type { EdgeEvent } from '../events/types.js';
import { compileOperators, fieldGetter, isPlainObject, type Operator, type RulePath, validateField } from './conditions.js';
import { type AggregateFn, type AggregateRef, type HavingClause, RuleError } from './types.js';

const FIELD_FNS = ['sum', 'avg', 'min', 'max', 'stddev', 'first', 'last', 'delta', 'rate', 'distinct'] as const;
export const AGGREGATE_FNS: readonly AggregateFn[] = ['count', ...FIELD_FNS];

/** contains/regex make no sense on a number. */
export const HAVING_OPERATORS: readonly Operator[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'exists'];

// No whitespace: the key as written is also its `{…}` name in templates, so one spelling.
const FORM = /^([a-z]+)(?:\(([^()]*)\))?$/;
const EXPECTED = `expected count or ${FIELD_FNS.map((f) => `${f}(f)`).join(', ')}, where f is an event path such as value or payload.x`;

export function parseAggregate(key: string, at: RulePath): AggregateRef {
  const m = FORM.exec(key);
  const fn = m?.[1] as AggregateFn | undefined;
  if (!m || fn === undefined || !AGGREGATE_FNS.includes(fn)) {
    throw new RuleError(at, `unknown aggregate "${key}" (${EXPECTED})`);
  }
  const field = m[2];
  if (fn === 'count') {
    if (field) throw new RuleError(at, `aggregate "${key}": count takes no field (write count)`);
    return { key, fn, field: null };
  }
  if (!field) throw new RuleError(at, `aggregate "${key}": ${fn} needs a field, e.g. ${fn}(value)`);
  validateField(field, at);
  return { key, fn, field };
}

/** `{ count: { gte: 3 }, "max(value)": { gt: 30 } }` → one clause per key, all must hold. */
export function compileHaving(spec: unknown, at: RulePath): HavingClause[] {
  if (!isPlainObject(spec)) {
    throw new RuleError(at, 'expected a map of aggregate → operators, e.g. { count: { gte: 3 } }');
  }
  const clauses = Object.entries(spec).map(([key, ops]): HavingClause => ({
    aggregate: parseAggregate(key, [...at, key]),
    test: compileOperators(ops, [...at, key], { operators: HAVING_OPERATORS, numeric: true }),
  }));
  if (clauses.length === 0) throw new RuleError(at, 'expected at least one aggregate, e.g. { count: { gte: 3 } }');
  return clauses;
}

interface FieldStats {
  n: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
  firstEvent: EdgeEvent | null;
  lastEvent: EdgeEvent | null;
  /** Welford: numerically stable, and needs no second pass. */
  mean: number;
  m2: number;
  distinct: number;
}

function statsOf(events: readonly EdgeEvent[], field: string, wantDistinct: boolean): FieldStats {
  const get = fieldGetter(field);
  const s: FieldStats = { n: 0, sum: 0, min: Infinity, max: -Infinity, first: 0, last: 0, firstEvent: null, lastEvent: null, mean: 0, m2: 0, distinct: 0 };
  const scalars = wantDistinct ? new Set<unknown>() : null;
  // Objects and arrays compare by their JSON text; kept apart so "1" and 1 stay distinct.
  const structured = wantDistinct ? new Set<string>() : null;
  for (const e of events) {
    const v = get(e);
    if (scalars !== null && v !== undefined && v !== null) {
      if (typeof v === 'object') structured!.add(JSON.stringify(v));
      else scalars.add(v);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (s.n === 0) {
      s.first = v;
      s.firstEvent = e;
    }
    s.n++;
    s.sum += v;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
    s.last = v;
    s.lastEvent = e;
    const d = v - s.mean;
    s.mean += d / s.n;
    s.m2 += d * (v - s.mean);
  }
  if (scalars !== null) s.distinct = scalars.size + structured!.size;
  return s;
}

function valueOf(fn: AggregateFn, s: FieldStats, timeOf: (e: EdgeEvent) => number): number | null {
  if (fn === 'distinct') return s.distinct;
  if (s.n === 0) return null;
  switch (fn) {
    case 'sum': return s.sum;
    case 'avg': return s.sum / s.n;
    case 'min': return s.min;
    case 'max': return s.max;
    case 'stddev': return Math.sqrt(s.m2 / s.n);
    case 'first': return s.first;
    case 'last': return s.last;
    case 'delta': return s.last - s.first;
    case 'rate': {
      if (s.n < 2) return null;
      const spanMs = timeOf(s.lastEvent!) - timeOf(s.firstEvent!);
      return spanMs > 0 ? (s.last - s.first) / (spanMs / 1000) : null;
    }
    default: return null;
  }
}

/**
 * The value of each ref over `events` (oldest first), by ref key. One pass per distinct
 * field however many functions read it.
 */
export function computeAggregates(
  refs: readonly AggregateRef[],
  events: readonly EdgeEvent[],
  timeOf: (e: EdgeEvent) => number,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const byField = new Map<string, AggregateRef[]>();
  for (const ref of refs) {
    if (ref.fn === 'count' || ref.field === null) {
      // A field aggregate without a field cannot come from parseAggregate; no value beats a wrong one.
      out[ref.key] = ref.fn === 'count' ? events.length : null;
      continue;
    }
    const list = byField.get(ref.field);
    if (list) list.push(ref);
    else byField.set(ref.field, [ref]);
  }
  for (const [field, list] of byField) {
    const stats = statsOf(events, field, list.some((r) => r.fn === 'distinct'));
    for (const ref of list) out[ref.key] = valueOf(ref.fn, stats, timeOf);
  }
  return out;
}
