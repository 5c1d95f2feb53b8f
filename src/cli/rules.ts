// `edgebus rules test FILE [--since 24h] [--json]`: runs one rule file over stored events
// and prints what it would have emitted. Nothing is stored, published or forwarded.
import { formatIssue } from '../config/validate.js';
import type { Config } from '../config/types.js';
import type { EdgeEvent } from '../events/types.js';
import { readEvents } from '../store/log-reader.js';
import { parseEventFilters } from '../store/event-filters.js';
import type { AlertIntent } from '../rules/alerts.js';
import { RuleEngine } from '../rules/engine.js';
import { loadRuleFile } from '../rules/loader.js';
import { UsageError, type Io } from './args.js';
import { progress } from './progress.js';
import { fetchLines, withStore } from './store-access.js';

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
  const since = opts.since ?? '24h';
  const query = parseEventFilters({ since });
  const alerts: AlertIntent[] = [];
  const engine = new RuleEngine({ gatewayId: config.gatewayId, onAlert: (a) => alerts.push(a) });
  engine.setRules(rules);
  const bar = progress('events');
  let seen = 0;
  const feed = (chunk: EdgeEvent[]) => {
    engine.replay(chunk);
    seen += chunk.length;
    bar.tick(chunk.length);
  };
  await withStore(config, async (store) => {
    let chunk: EdgeEvent[] = [];
    for await (const e of readEvents(store, query)) {
      chunk.push(e);
      if (chunk.length === CHUNK) feed(chunk.splice(0));
    }
    feed(chunk);
  }, async () => {
    let chunk: EdgeEvent[] = [];
    for await (const line of fetchLines(config, `/api/events?since=${encodeURIComponent(since)}&limit=100000000`)) {
      chunk.push(JSON.parse(line) as EdgeEvent);
      if (chunk.length === CHUNK) feed(chunk.splice(0));
    }
    feed(chunk);
  });
  engine.settleAbsence(Date.now());
  bar.done();
  for (const a of alerts) {
    if (opts.json) io.out(JSON.stringify(a.draft) + '\n');
    else io.out([a.draft.timestamp.padEnd(24), a.state.padEnd(8), a.rule.id.padEnd(24), a.group.padEnd(20), String(a.draft.payload.message)].join('  ') + '\n');
  }
  io.err(`${alerts.length} alert${alerts.length === 1 ? '' : 's'} would have been emitted from ${seen} events since ${since} (${rules.map((r) => r.id).join(', ')})\n`);
  return 0;
}
