// `{placeholder}` templates of alert topics, messages and action payloads: the rule, its
// group and state, aggregates by the key they were written with (`{max(value)}`), and
// paths of the event that triggered it (`{source}`, `{value}`, `{payload.door}`).
import type { EdgeEvent } from '../events/types.js';
import { fieldGetter, validateField } from './conditions.js';

export interface TemplateContext {
  rule: string;
  group: string;
  state: string;
  severity: string;
  aggregates: Readonly<Record<string, number | null>>;
  event: EdgeEvent | null;
}

const PLACEHOLDER = /\{([^{}]+)\}/g;

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

function valueOf(name: string, ctx: TemplateContext): string | null {
  switch (name) {
    case 'rule': return ctx.rule;
    case 'group': return ctx.group;
    case 'state': return ctx.state;
    case 'severity': return ctx.severity;
  }
  if (name in ctx.aggregates) return show(ctx.aggregates[name]);
  if (ctx.event === null || !isField(name)) return null;
  return show(fieldGetter(name)(ctx.event));
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
