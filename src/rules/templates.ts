// `{placeholder}` templates of alert topics, messages, action payloads and derived events'
// payloads: the rule, its group and state, the incident's correlation id, aggregates by the
// key they were written with (`{max(value)}`), and paths of the event that triggered it
// (`{source}`, `{value}`, `{payload.door}`).
import type { EdgeEvent, JsonValue } from '../events/types.js';
import { fieldGetter, validateField } from './conditions.js';

export interface TemplateContext {
  rule: string;
  group: string;
  state: string;
  severity: string;
  /** The emission's correlation id (see trace.ts). */
  correlationId: string | null;
  aggregates: Readonly<Record<string, number | null>>;
  event: EdgeEvent | null;
}

const PLACEHOLDER = /\{([^{}]+)\}/g;
const WHOLE = /^\{([^{}]+)\}$/;

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** `clean` rewrites each substituted value (topics: see fillTopic). */
export function fillTemplate(template: string, ctx: TemplateContext, clean: (s: string) => string = (s) => s): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => clean(valueOf(name, ctx) ?? whole));
}

/** A topic from a template: a value never adds MQTT wildcards, and never an empty level. */
export function fillTopic(template: string, ctx: TemplateContext): string {
  return fillTemplate(template, ctx, (s) => s.replace(/[+#]/g, '_') || '_');
}

/**
 * A derived event's payload from its template: every string filled in, keys and other
 * values as written. A string that is one placeholder and nothing else keeps the value's
 * own type (`"{max(value)}"` gives 33, not "33"); one that names nothing stays as written.
 */
export function fillPayload(template: JsonValue, ctx: TemplateContext): JsonValue {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole === null) return fillTemplate(template, ctx);
    const v = rawValueOf(whole[1], ctx);
    return v === NAMES_NOTHING ? template : toJson(v);
  }
  if (Array.isArray(template)) return template.map((t) => fillPayload(t, ctx));
  if (template !== null && typeof template === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(template)) out[k] = fillPayload(v, ctx);
    return out;
  }
  return template;
}

/** An event's values are JSON already; a missing one is null, a non-finite number too. */
function toJson(v: unknown): JsonValue {
  if (v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v as JsonValue;
}

const NAMES_NOTHING = Symbol('names nothing');

function rawValueOf(name: string, ctx: TemplateContext): unknown {
  switch (name) {
    case 'rule': return ctx.rule;
    case 'group': return ctx.group;
    case 'state': return ctx.state;
    case 'severity': return ctx.severity;
    case 'correlationId': return ctx.correlationId;
  }
  if (name in ctx.aggregates) return ctx.aggregates[name];
  if (ctx.event === null || !isField(name)) return NAMES_NOTHING;
  return fieldGetter(name)(ctx.event);
}

function valueOf(name: string, ctx: TemplateContext): string | null {
  const v = rawValueOf(name, ctx);
  return v === NAMES_NOTHING ? null : show(v);
}

const fieldNames = new Map<string, boolean>();

/** `{"state":"on"}` in a JSON payload is text, not a placeholder: only event paths are. */
function isField(name: string): boolean {
  let ok = fieldNames.get(name);
  if (ok === undefined) {
    try {
      validateField(name, []);
      ok = true;
    } catch {
      ok = false;
    }
    if (fieldNames.size < 1024) fieldNames.set(name, ok);
  }
  return ok;
}
