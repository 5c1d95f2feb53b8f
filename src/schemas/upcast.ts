// Upcast steps (README "Schemas"): how one version of a payload becomes the next. They are
// written in the rules' language — a step's `when` is a rules condition on the event, and
// a value may be a `{placeholder}` template as in rule payloads — and compiled once, at
// load, into plain functions over a working copy of the event. The stored event is never
// touched: upcastEvent copies what it changes.
import type { EdgeEvent, JsonObject, JsonValue } from '../events/types.js';
import { compileCondition } from '../rules/conditions.js';
import { fillPayload, type TemplateContext } from '../rules/templates.js';
import { RuleError, type Predicate } from '../rules/types.js';
import { UPCAST_OPERATIONS, type RawUpcastStep } from './file-format.js';

type Path = readonly (string | number)[];

/** A step's change to the working copy: its payload, which it owns. */
type Apply = (payload: JsonObject, e: EdgeEvent) => void;

export interface UpcastStep {
  when: Predicate | null;
  apply: Apply;
}

/** Names the JS object model gives meaning to: a payload path must not reach them. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

function segmentsOf(path: string, at: Path): string[] {
  const segments = path.split('.');
  const bad = segments.find((s) => FORBIDDEN.has(s));
  if (bad !== undefined) throw new RuleError(at, `"${bad}" cannot be part of a field path`);
  return segments;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getAt(payload: JsonObject, path: readonly string[]): JsonValue | undefined {
  let v: JsonValue | undefined = payload;
  for (const k of path) {
    if (!isObject(v) || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** Sets the field, making the objects on its way; a scalar in the way leaves it unset. */
function setAt(payload: JsonObject, path: readonly string[], value: JsonValue): void {
  let o = payload;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (!Object.hasOwn(o, k) || o[k] === null) o[k] = {};
    const next = o[k];
    if (!isObject(next)) return;
    o = next;
  }
  o[path[path.length - 1]] = value;
}

function removeAt(payload: JsonObject, path: readonly string[]): void {
  const parent = path.length === 1 ? payload : getAt(payload, path.slice(0, -1));
  if (isObject(parent)) delete parent[path[path.length - 1]];
}

/** A template value: filled from the event when it holds a `{placeholder}`, else the value as written. */
function valueMaker(value: unknown): (e: EdgeEvent) => JsonValue {
  const constant = (value ?? null) as JsonValue;
  if (!hasPlaceholder(constant)) return () => structuredClone(constant);
  return (e) => fillPayload(constant, templateContext(e));
}

function hasPlaceholder(v: JsonValue): boolean {
  if (typeof v === 'string') return /\{[^{}]+\}/.test(v);
  if (typeof v !== 'object' || v === null) return false;
  return (Array.isArray(v) ? v : Object.values(v)).some(hasPlaceholder);
}

/** No aggregates, and no prototype: `{constructor}` must not name Object's. */
const NO_AGGREGATES: Readonly<Record<string, number | null>> = Object.freeze(Object.create(null) as Record<string, number | null>);

function templateContext(e: EdgeEvent): TemplateContext {
  // An upcast belongs to no rule: only the event's own paths name something.
  return { rule: '', group: '', state: '', severity: '', correlationId: e.metadata.correlationId, aggregates: NO_AGGREGATES, event: e };
}

/** Rounded to 12 significant digits: 21.5 * 1.8 + 32 is 70.7, not 70.70000000000002. */
function tidy(n: number): number {
  return Number(n.toPrecision(12));
}

function compileOperation(step: RawUpcastStep, op: (typeof UPCAST_OPERATIONS)[number], at: Path): Apply {
  switch (op) {
    case 'rename': {
      const { from, to } = step.rename!;
      const src = segmentsOf(from, [...at, 'from']);
      const dst = segmentsOf(to, [...at, 'to']);
      return (p) => {
        const v = getAt(p, src);
        if (v === undefined) return;
        removeAt(p, src);
        setAt(p, dst, v);
      };
    }
    case 'default': {
      const path = segmentsOf(step.default!.field, [...at, 'field']);
      const make = valueMaker(step.default!.value);
      return (p, e) => {
        const v = getAt(p, path);
        if (v === undefined || v === null) setAt(p, path, make(e));
      };
    }
    case 'set': {
      const path = segmentsOf(step.set!.field, [...at, 'field']);
      const make = valueMaker(step.set!.value);
      return (p, e) => setAt(p, path, make(e));
    }
    case 'map': {
      const path = segmentsOf(step.map!.field, [...at, 'field']);
      const table = new Map(Object.entries(step.map!.values).map(([k, v]) => [k, (v ?? null) as JsonValue]));
      return (p) => {
        const v = getAt(p, path);
        // YAML keys are strings: 1, true and null are looked up as "1", "true" and "null".
        if (v === undefined || (typeof v === 'object' && v !== null)) return;
        const to = table.get(String(v));
        if (to !== undefined) setAt(p, path, structuredClone(to));
      };
    }
    case 'convert': {
      const c = step.convert!;
      const path = segmentsOf(c.field, [...at, 'field']);
      const unitPath = segmentsOf(c.unitField ?? 'unit', [...at, 'unitField']);
      const { factor, unit } = c;
      const offset = c.offset ?? 0;
      return (p) => {
        const v = getAt(p, path);
        if (typeof v !== 'number') return;
        setAt(p, path, tidy(v * factor + offset));
        if (unit !== undefined) setAt(p, unitPath, unit);
      };
    }
    case 'remove': {
      const path = segmentsOf(step.remove!.field, [...at, 'field']);
      return (p) => removeAt(p, path);
    }
  }
}

/** One step of a version's `upcast` list; `at` is its path in the file (RuleErrors point there). */
export function compileStep(step: RawUpcastStep, at: Path): UpcastStep {
  const ops = UPCAST_OPERATIONS.filter((op) => step[op] !== undefined);
  if (ops.length !== 1) {
    throw new RuleError(at, `expected exactly one of ${UPCAST_OPERATIONS.join(', ')} in an upcast step (got ${ops.length ? ops.join(' and ') : 'none'})`);
  }
  const apply = compileOperation(step, ops[0], [...at, ops[0]]);
  const when = step.when === undefined ? null : compileCondition(step.when, [...at, 'when']);
  return { when, apply };
}

/** The steps that make one version from the one before it. */
export interface UpcastLink {
  /** The version they make ("2"). */
  version: string;
  steps: readonly UpcastStep[];
}

/**
 * The event upcast through `chain` (oldest link first). Its `metadata.version` is each
 * link's once its steps ran, and the sensor reading follows the payload's `value` and
 * `unit` after every step, so a `when` sees what the steps before it made.
 */
export function upcastEvent(e: EdgeEvent, chain: readonly UpcastLink[]): EdgeEvent {
  const payload = structuredClone(e.payload);
  const out: EdgeEvent = { ...e, payload, metadata: { ...e.metadata } };
  if (e.sensor !== undefined) out.sensor = { ...e.sensor };
  for (const link of chain) {
    for (const step of link.steps) {
      if (step.when !== null && !step.when(out)) continue;
      step.apply(payload, out);
      if (out.sensor !== undefined) followPayload(out);
    }
    out.metadata.version = link.version;
  }
  return out;
}

/** The reading as ingest derives it from a payload (normalize.ts): value and unit. */
function followPayload(e: EdgeEvent): void {
  const s = e.sensor!;
  const v = e.payload.value;
  s.value = v === undefined || (typeof v === 'object' && v !== null) ? null : v;
  s.unit = typeof e.payload.unit === 'string' ? e.payload.unit : null;
}
