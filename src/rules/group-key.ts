// Rule groups (SPEC §5 `groupBy`): independent state per value of the named event paths.
import type { EdgeEvent } from '../events/types.js';
import { compileField } from './conditions.js';
import type { CompiledRule } from './types.js';

/** The name of the group an event belongs to under a rule's `groupBy`; the rule's id without one. */
export function groupKey(rule: CompiledRule): (e: EdgeEvent) => string {
  if (rule.groupBy === null || rule.groupBy.length === 0) return () => rule.id;
  const fields = rule.groupBy.map(compileField);
  const name = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  // One field (the usual `groupBy: source`): its value is the name, with nothing built.
  if (fields.length === 1) {
    const [f] = fields;
    return (e) => name(f(e));
  }
  return (e) => fields.map((f) => name(f(e))).join('/');
}
