// How far back a rebuild from the log must read for every rule's state to be what it was.
import type { CompiledRule } from './types.js';

export function rebuildHorizonMs(rules: readonly CompiledRule[]): number {
  let h = 0;
  for (const rule of rules) {
    const w = rule.window;
    if (w?.kind === 'sliding' || w?.kind === 'tumbling') h = Math.max(h, w.ms);
    if (w?.kind === 'session') h = Math.max(h, w.gapMs * 4);
    // A count window holds events of unknown age: an hour of them is the assumption.
    if (w?.kind === 'count') h = Math.max(h, 3_600_000);
    if (rule.sustainedMs !== null) h = Math.max(h, rule.sustainedMs);
    if (rule.absentMs !== null) h = Math.max(h, rule.absentMs);
    if (rule.sequence !== null) h = Math.max(h, rule.sequence.reduce((a, s) => a + (s.withinMs ?? 60_000), 0));
    h = Math.max(h, rule.cooldownMs);
  }
  return h;
}
