// `edgebus rules test FILE [--since 24h] [--json]`: runs one rule file over stored events
// and prints what it would have emitted. Nothing is stored, published or forwarded.
import { formatIssue } from '../config/validate.js';
import type { Config } from '../config/types.js';
import type { EdgeEvent } from '../events/types.js';
import { gatewayNowOf, readClockLog } from '../store/clock-log.js';
import { readEvents } from '../store/log-reader.js';
import { Timeline, type ClockSegment } from '../time/timeline.js';
import { parseEventFilters } from '../store/event-filters.js';
import type { AlertIntent } from '../rules/alerts.js';
import { RuleEngine } from '../rules/engine.js';
import { loadRuleFile } from '../rules/loader.js';
import { loadSchemasDir } from '../schemas/loader.js';
import { UsageError, type Io } from './args.js';
import { progress } from './progress.js';
import { fetchLines, getText, withStore } from './store-access.js';

const CHUNK = 512;

export async function runRules(config: Config, action: string | undefined, args: string[], opts: { since?: string; json?: boolean }, io: Io): Promise<number> {
  if (action !== 'test') throw new UsageError(`rules: expected "test FILE", got ${JSON.stringify(action ?? '')}`);
  const file = args[0];
  if (file === undefined || args.length > 1) throw new UsageError('rules test: expected one rule file');
  const { rules, issues } = loadRuleFile(file);
  if (issues.length) {
    for (const issue of issues) io.err(formatIssue(issue) + '\n');
    return 1;
  }
  // Events in their latest version, as the daemon's rules see them (README "Schemas").
  const schemas = loadSchemasDir(config.schemasDir);
  if (schemas.issues.length) {
    for (const issue of schemas.issues) io.err(formatIssue(issue) + '\n');
    return 1;
  }
  const { registry } = schemas;
  const since = opts.since ?? '24h';
  const query = parseEventFilters({ since });
  const alerts: AlertIntent[] = [];
  // Event times on the gateway clock, as the daemon's rules see them (time/timeline.ts).
  const timeline = new Timeline();
  let gatewayNow = 0;
  const engine = new RuleEngine({
    gatewayId: config.gatewayId, onAlert: (a) => alerts.push(a),
    timeOf: (e) => timeline.eventTime(e), wallOf: (g) => timeline.wallOf(g),
  });
  engine.setRules(rules);
  const bar = progress('events');
  let seen = 0;
  const feed = (chunk: EdgeEvent[]) => {
    engine.replay(chunk);
    seen += chunk.length;
    bar.tick(chunk.length);
  };
  await withStore(config, async (store) => {
    const log = await readClockLog(store);
    timeline.reset(log.timeline.segments);
    gatewayNow = gatewayNowOf(log);
    let chunk: EdgeEvent[] = [];
    for await (const e of readEvents(store, query, timeline)) {
      chunk.push(registry.latest(e));
      if (chunk.length === CHUNK) feed(chunk.splice(0));
    }
    feed(chunk);
  }, async () => {
    const clock = JSON.parse(await getText(config, '/api/clock')) as { now: number; segments: ClockSegment[] };
    timeline.reset(clock.segments);
    gatewayNow = clock.now;
    let chunk: EdgeEvent[] = [];
    for await (const line of fetchLines(config, `/api/events?since=${encodeURIComponent(since)}&limit=100000000&as=latest`)) {
      chunk.push(JSON.parse(line) as EdgeEvent);
      if (chunk.length === CHUNK) feed(chunk.splice(0));
    }
    feed(chunk);
  });
  engine.settleAbsence(gatewayNow);
  bar.done();
  for (const a of alerts) {
    if (opts.json) io.out(JSON.stringify(a.draft) + '\n');
    else io.out([a.draft.timestamp.padEnd(24), a.state.padEnd(8), a.rule.id.padEnd(24), a.group.padEnd(20), what(a)].join('  ') + '\n');
  }
  io.err(`${emittedCount(alerts)} would have been emitted from ${seen} events since ${since} (${rules.map((r) => r.id).join(', ')})\n`);
  return 0;
}

/** An alert's message; a derived event's type and payload (and its actions, either way). */
function what(a: AlertIntent): string {
  const { draft } = a;
  const text = draft.type === 'Alert' ? String(draft.payload.message) : `${draft.type} ${JSON.stringify(draft.payload)}`;
  return a.actions.length === 0 ? text : `${text}  (+${a.actions.length} command${a.actions.length === 1 ? '' : 's'})`;
}

/** `3 alerts`, or `3 alerts, 1 BusinessEvent` when a rule derives events. */
function emittedCount(emitted: readonly AlertIntent[]): string {
  const alerts = emitted.filter((a) => a.draft.type === 'Alert').length;
  const parts = [`${alerts} alert${alerts === 1 ? '' : 's'}`];
  for (const type of ['BusinessEvent', 'Command', 'SystemEvent'] as const) {
    const n = emitted.filter((a) => a.draft.type === type).length;
    if (n > 0) parts.push(`${n} ${type}${n === 1 ? '' : 's'}`);
  }
  return parts.join(', ');
}
