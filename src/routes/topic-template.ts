// A route's topic from its template: `edgebus/{gatewayId}/{type}/{source}`. Compiled once
// into literal parts and field getters, so filling it per event is a few string joins.
// `{sensor}` and `{device}` mean the sensor's type and the device's id (what a topic wants,
// not the objects); any other name is an event path, checked as the rules check theirs.
import type { EdgeEvent } from '../events/types.js';
import { fieldGetter, validateField, type FieldGetter, type RulePath } from '../rules/conditions.js';
import { RuleError } from '../rules/types.js';

export type TopicOf = (e: EdgeEvent) => string;

const PLACEHOLDER = /\{([^{}]*)\}/g;

const ALIASES: Readonly<Record<string, FieldGetter>> = {
  sensor: (e) => e.sensor?.type,
  device: (e) => e.device?.id,
  priority: (e) => e.metadata.priority,
  correlationId: (e) => e.metadata.correlationId,
};

/** A value never adds an MQTT wildcard, and never leaves a level empty. */
function level(v: unknown): string {
  if (v === undefined || v === null) return '_';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s === '' ? '_' : s.replace(/[+#\u0000]/g, '_');
}

/** Throws a RuleError at `at` for a template no event could fill into a valid topic. */
export function compileTopicTemplate(template: string, gatewayId: string, at: RulePath): TopicOf {
  if (template.includes('+') || template.includes('#')) throw new RuleError(at, `a topic to publish on cannot hold + or # (got ${JSON.stringify(template)})`);
  const literals: string[] = [];
  const getters: FieldGetter[] = [];
  let last = 0;
  let text = '';
  for (const m of template.matchAll(PLACEHOLDER)) {
    text += template.slice(last, m.index);
    last = m.index + m[0].length;
    const name = m[1];
    if (name === 'gatewayId') {
      text += gatewayId;
      continue;
    }
    if (name === '') throw new RuleError(at, `empty placeholder {} in ${JSON.stringify(template)}`);
    const alias = ALIASES[name];
    if (alias === undefined) validateField(name, at);
    literals.push(text);
    getters.push(alias ?? fieldGetter(name));
    text = '';
  }
  text += template.slice(last);
  const rest = literals.join('') + text;
  if (/[{}]/.test(rest)) throw new RuleError(at, `unbalanced { or } in ${JSON.stringify(template)} (placeholders look like {source})`);
  if (getters.length === 0) return () => text;
  return (e) => {
    let out = literals[0] + level(getters[0](e));
    for (let i = 1; i < getters.length; i++) out += literals[i] + level(getters[i](e));
    return out + text;
  };
}

/** The longest a topic from `template` is expected to get: for the packet size budget. */
export function topicAllowance(template: string): number {
  const placeholders = template.match(PLACEHOLDER)?.length ?? 0;
  return Buffer.byteLength(template) + placeholders * PLACEHOLDER_BYTES;
}

/** What a filled placeholder (a source, an id) is budgeted: ids and device names are short. */
const PLACEHOLDER_BYTES = 128;
