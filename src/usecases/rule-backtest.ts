// What rules would have raised over the stored log (the last 24 h by default): the count
// of `raised` alerts per rule id. A read of the log only — nothing is stored or published —
// so a desired-state push can say what a new rule would have done before it goes live.
import type { EdgeEvent } from '../events/types.js';
import { RuleEngine } from '../rules/engine.js';
import type { CompiledRule } from '../rules/types.js';
import { gatewayNowOf, readClockLog } from '../store/clock-log.js';
import { parseEventFilters } from '../store/event-filters.js';
import type { EventStore } from '../store/event-store.js';
import { readEvents } from '../store/log-reader.js';
import { Timeline } from '../time/timeline.js';

/** Events handed to the engine at once: bounded memory over a day of readings. */
const CHUNK = 512;

export interface BacktestOptions {
  gatewayId: string;
  /** How far back, as `--since` takes it; default 24h. */
  since?: string;
  /** Events in their schema's latest version, as the daemon's rules see them. */
  latest?: (e: EdgeEvent) => EdgeEvent;
}

export async function backtestRules(store: EventStore, rules: readonly CompiledRule[], opts: BacktestOptions): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const r of rules) counts[r.id] = 0;
  if (!rules.length) return counts;
  const timeline = new Timeline();
  const engine = new RuleEngine({
    gatewayId: opts.gatewayId,
    onAlert: (a) => {
      if (a.draft.type === 'Alert' && a.state === 'raised') counts[a.rule.id] = (counts[a.rule.id] ?? 0) + 1;
    },
    timeOf: (e) => timeline.eventTime(e), wallOf: (g) => timeline.wallOf(g),
  });
  engine.setRules(rules);
  const clock = await readClockLog(store);
  timeline.reset(clock.timeline.segments);
  let chunk: EdgeEvent[] = [];
  for await (const e of readEvents(store, parseEventFilters({ since: opts.since ?? '24h' }), timeline)) {
    chunk.push(opts.latest ? opts.latest(e) : e);
    if (chunk.length === CHUNK) engine.replay(chunk.splice(0));
  }
  engine.replay(chunk);
  engine.settleAbsence(gatewayNowOf(clock));
  return counts;
}
