// Rule conditions (SPEC §5): field paths and operator maps compiled once, at load, into
// plain closures, so evaluating `where` per event does no parsing, no regex compilation
// and no allocation.
import type { EdgeEvent } from '../events/types.js';
import { type Predicate, RuleError } from './types.js';

export type RulePath = readonly (string | number)[];
export type FieldGetter = (e: EdgeEvent) => unknown;
export type ValueTest = (v: unknown) => boolean;

export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'contains', 'regex', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

/** Paths that mean the sensor's reading (or the payload's, for events without a sensor). */
const READING_FIELDS: ReadonlySet<string> = new Set(['value', 'unit', 'accuracy']);
const EVENT_ROOTS: ReadonlySet<string> = new Set([
  'id', 'type', 'source', 'timestamp', 'seq', 'payload', 'sensor', 'device', 'location', 'network', 'metadata',
]);
const INDEX = /^(0|[1-9][0-9]*)$/;

// ---------------------------------------------------------------------------------------
// Field paths

/**
 * Throws a RuleError at `at` unless `path` names something an event can have: `value`,
 * `unit`, `accuracy`, or a dotted path under one of the event's own keys. Catches typos
 * (`vaule`) at load instead of letting them silently never match.
 */
export function validateField(path: string, at: RulePath): void {
  const root = path.split('.', 1)[0];
  if (path === '' || path.split('.').includes('')) {
    throw new RuleError(at, `invalid field path "${path}" (expected a dotted path such as value or payload.x)`);
  }
  if (!READING_FIELDS.has(root) && !EVENT_ROOTS.has(root)) {
    throw new RuleError(at, `unknown field "${path}" (expected value, unit, accuracy, or a path under ${[...EVENT_ROOTS].join(', ')})`);
  }
}

/**
 * A getter for an event path. Never throws: a path the event does not have (or could not
 * have) reads as undefined, so templates can probe names freely; validateField is the
 * load-time check.
 */
export function compileField(path: string): FieldGetter {
  const segments = path.split('.');
  const root = segments[0];
  if (segments.includes('')) return () => undefined;
  let head: FieldGetter;
  if (READING_FIELDS.has(root)) {
    head = (e) => (e.sensor !== undefined ? (e.sensor as unknown as Record<string, unknown>)[root] : own(e.payload, root));
  } else if (EVENT_ROOTS.has(root)) {
    head = (e) => (e as unknown as Record<string, unknown>)[root];
  } else {
    return () => undefined;
  }
  const rest = segments.slice(1);
  if (rest.length === 0) return head;
  if (rest.length === 1) {
    const k = rest[0];
    return (e) => step(head(e), k);
  }
  return (e) => {
    let v = head(e);
    for (let i = 0; i < rest.length && v !== undefined; i++) v = step(v, rest[i]);
    return v;
  };
}

// Own properties only: `payload.constructor` must not reach Object.prototype.
function own(o: object, k: string): unknown {
  return Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

function step(v: unknown, k: string): unknown {
  if (typeof v !== 'object' || v === null) return undefined;
  if (Array.isArray(v)) return INDEX.test(k) ? v[Number(k)] : undefined;
  return own(v, k);
}

// Paths come from rule files and templates, so the set is small; the cap only guards
// against a caller that builds paths from data.
const FIELD_CACHE_MAX = 1024;
const fieldCache = new Map<string, FieldGetter>();

/** compileField, memoized. */
export function fieldGetter(path: string): FieldGetter {
  let get = fieldCache.get(path);
  if (get === undefined) {
    if (fieldCache.size >= FIELD_CACHE_MAX) fieldCache.clear();
    fieldCache.set(path, (get = compileField(path)));
  }
  return get;
}

export function fieldValue(e: EdgeEvent, path: string): unknown {
  return fieldGetter(path)(e);
}

// ---------------------------------------------------------------------------------------
// Operators

export interface OperatorOptions {
  /** Operators accepted here (default: all). */
  operators?: readonly Operator[];
  /** Operands of eq/ne/in must be numbers (aggregates: a string there could never match). */
  numeric?: boolean;
}

type Scalar = string | number | boolean | null;

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shown(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * An operator map (`{ gte: 1, lte: 5 }`, every entry must hold) or a bare scalar (shorthand
 * for `eq`) compiled into a test of one value. Errors point at `[...at, operator]`.
 */
export function compileOperators(ops: unknown, at: RulePath, options: OperatorOptions = {}): ValueTest {
  const allowed = options.operators ?? OPERATORS;
  const numeric = options.numeric ?? false;
  if (!isPlainObject(ops)) {
    if (isScalar(ops)) return compileOperator('eq', ops, at, numeric);
    throw new RuleError(at, `expected an operator map such as { gt: 30 }, or a value to compare with eq (got ${shown(ops)})`);
  }
  const tests: ValueTest[] = [];
  for (const [op, operand] of Object.entries(ops)) {
    const where = [...at, op];
    if (!(OPERATORS as readonly string[]).includes(op)) {
      throw new RuleError(where, `unknown operator "${op}" (expected one of ${allowed.join(', ')})`);
    }
    if (!allowed.includes(op as Operator)) {
      throw new RuleError(where, `operator "${op}" is not allowed here (expected one of ${allowed.join(', ')})`);
    }
    tests.push(compileOperator(op as Operator, operand, where, numeric));
  }
  if (tests.length === 0) throw new RuleError(at, `expected at least one operator (one of ${allowed.join(', ')})`);
  return allOf(tests);
}

function compileOperator(op: Operator, x: unknown, at: RulePath, numeric: boolean): ValueTest {
  const bad = (expected: string): RuleError => new RuleError(at, `operator "${op}" expects ${expected} (got ${shown(x)})`);
  switch (op) {
    case 'eq':
    case 'ne': {
      if (numeric ? !num(x) : !isScalar(x)) throw bad(numeric ? 'a number' : 'a string, number, boolean or null');
      // ne is exactly not-eq, so a missing field is "not equal" to anything.
      return op === 'eq' ? (v) => v === x : (v) => v !== x;
    }
    case 'gt': if (!num(x)) throw bad('a number'); return (v) => typeof v === 'number' && v > x;
    case 'gte': if (!num(x)) throw bad('a number'); return (v) => typeof v === 'number' && v >= x;
    case 'lt': if (!num(x)) throw bad('a number'); return (v) => typeof v === 'number' && v < x;
    case 'lte': if (!num(x)) throw bad('a number'); return (v) => typeof v === 'number' && v <= x;
    case 'between': {
      if (!Array.isArray(x) || x.length !== 2 || !num(x[0]) || !num(x[1]) || x[0] > x[1]) {
        throw bad('[lo, hi]: two numbers with lo <= hi');
      }
      const [lo, hi] = x as [number, number];
      return (v) => typeof v === 'number' && v >= lo && v <= hi;
    }
    case 'in': {
      if (!Array.isArray(x) || x.length === 0 || !x.every(numeric ? num : isScalar)) {
        throw bad(numeric ? 'a non-empty list of numbers' : 'a non-empty list of strings, numbers, booleans or nulls');
      }
      const set = new Set<unknown>(x);
      return (v) => set.has(v);
    }
    case 'contains': {
      if (!isScalar(x)) throw bad('a string, number, boolean or null');
      return (v) => (typeof v === 'string' ? typeof x === 'string' && v.includes(x) : Array.isArray(v) && v.includes(x));
    }
    case 'regex': {
      if (typeof x !== 'string') throw bad('a regular expression pattern as a string');
      let re: RegExp;
      try {
        re = new RegExp(x);
      } catch (err) {
        throw new RuleError(at, `operator "regex" expects a valid regular expression: ${(err as Error).message}`);
      }
      return (v) => typeof v === 'string' && re.test(v);
    }
    case 'exists': {
      if (typeof x !== 'boolean') throw bad('true or false');
      // null counts as absent: aggregates report "no value" as null, and `unit: null` means no unit.
      return x ? (v) => v !== undefined && v !== null : (v) => v === undefined || v === null;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Conditions

/**
 * `{ value: { gt: 30 }, source: "gh-1", any: [...], not: {...} }`: every entry must hold.
 * `at` is the condition's path in the rule file (e.g. `['where']`).
 */
export function compileCondition(spec: unknown, at: RulePath): Predicate {
  if (!isPlainObject(spec)) {
    throw new RuleError(at, `expected a condition: a map of field → operators (e.g. { value: { gt: 30 } }) or all/any/not (got ${shown(spec)})`);
  }
  const parts: Predicate[] = [];
  for (const [key, v] of Object.entries(spec)) {
    const where = [...at, key];
    if (key === 'all' || key === 'any') {
      if (!Array.isArray(v) || v.length === 0) throw new RuleError(where, `"${key}" expects a non-empty list of conditions (got ${shown(v)})`);
      const subs = v.map((c, i) => compileCondition(c, [...where, i]));
      parts.push(key === 'all' ? allOf(subs) : anyOf(subs));
    } else if (key === 'not') {
      const sub = compileCondition(v, where);
      parts.push((e) => !sub(e));
    } else {
      validateField(key, where);
      const get = compileField(key);
      const test = compileOperators(v, where);
      parts.push((e) => test(get(e)));
    }
  }
  if (parts.length === 0) throw new RuleError(at, 'expected at least one field or all/any/not in the condition');
  return allOf(parts);
}

function allOf<T>(fs: readonly ((x: T) => boolean)[]): (x: T) => boolean {
  if (fs.length === 1) return fs[0];
  if (fs.length === 2) {
    const [a, b] = fs;
    return (x) => a(x) && b(x);
  }
  return (x) => {
    for (const f of fs) if (!f(x)) return false;
    return true;
  };
}

function anyOf<T>(fs: readonly ((x: T) => boolean)[]): (x: T) => boolean {
  if (fs.length === 1) return fs[0];
  return (x) => {
    for (const f of fs) if (f(x)) return true;
    return false;
  };
}
