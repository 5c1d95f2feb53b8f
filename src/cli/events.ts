// `edgebus events`: stored events in log order, as a table or NDJSON (--json).
import type { Config } from '../config/types.js';
import { followQuery } from '../http/event-stream.js';
import { formatIssue } from '../config/validate.js';
import { loadSchemasDir } from '../schemas/loader.js';
import { readClockLog } from '../store/clock-log.js';
import { FILTER_NAMES, FilterError, parseEventFilters, type EventFilterText } from '../store/event-filters.js';
import { readEvents, UnknownEventIdError, type CorrectedEvent } from '../store/log-reader.js';
import { UsageError, type Io } from './args.js';
import { followEvents } from './events-follow.js';
import { progress } from './progress.js';
import { fetchLines, withStore } from './store-access.js';

export interface EventsOptions extends EventFilterText {
  json?: boolean;
  /** Keep printing new events as they are committed (needs the running daemon). */
  follow?: boolean;
  /** `latest`: each event upcast to the latest version of its schema; default `as-stored`. */
  as?: string;
}

/** The filters as /api/events takes them. */
function filterParams(opts: EventsOptions): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (opts[name] !== undefined) params.set(name, opts[name]!);
  return params;
}

/** With --corrected, the time column shows the corrected time, marked `~` when it differs. VERSION: the event's place in its source's stream. */
function tableRow(e: CorrectedEvent): string {
  const payload = JSON.stringify(e.payload);
  const corrected = e.correctedTimestamp;
  const time = corrected === undefined ? e.timestamp : corrected === e.timestamp ? `${corrected} ` : `${corrected}~`;
  return [String(e.seq).padStart(8), time.padEnd(corrected === undefined ? 24 : 25), e.type.padEnd(13), e.source.padEnd(16), String(e.version ?? '-').padStart(7), e.id.padEnd(28), payload.length > 80 ? payload.slice(0, 77) + '...' : payload].join('  ');
}

/** Events in their latest version, by the schemas of `schemasDir` (a broken file is the user's to fix). */
function latestOf(config: Config): (e: CorrectedEvent) => CorrectedEvent {
  const { registry, issues } = loadSchemasDir(config.schemasDir);
  if (issues.length) throw new UsageError(issues.map(formatIssue).join('\n'));
  return (e) => registry.latest(e);
}

export async function runEvents(config: Config, opts: EventsOptions, io: Io): Promise<void> {
  const as = opts.as ?? 'as-stored';
  if (as !== 'as-stored' && as !== 'latest') throw new UsageError(`--as: expected as-stored or latest, got ${JSON.stringify(as)}`);
  if (as === 'latest' && opts.follow) throw new UsageError('--as latest is for stored events: --follow prints them as stored');
  let query;
  try {
    query = opts.follow ? followQuery(opts) : parseEventFilters(opts);
  } catch (err) {
    if (err instanceof FilterError) throw new UsageError(err.message);
    throw err;
  }
  // A stream has no end to count toward: no progress bar.
  const bar = opts.follow ? { tick() {}, done() {} } : progress('events');
  let headed = opts.json === true;
  const header = () => {
    if (!headed) io.out(['     SEQ', (query.corrected ? 'TIMESTAMP (CORRECTED)' : 'TIMESTAMP').padEnd(query.corrected ? 25 : 24), 'TYPE'.padEnd(13), 'SOURCE'.padEnd(16), 'VERSION', 'ID'.padEnd(28), 'PAYLOAD'].join('  ') + '\n');
    headed = true;
  };
  const print = (e: CorrectedEvent) => {
    header();
    io.out(opts.json ? JSON.stringify(e) + '\n' : tableRow(e) + '\n');
    bar.tick();
  };
  if (opts.follow) {
    header();
    await followEvents(config, filterParams(opts), print);
    return;
  }
  const params = filterParams(opts);
  if (as === 'latest') params.set('as', 'latest');
  await withStore(config, async (store) => {
    const shape = as === 'latest' ? latestOf(config) : (e: CorrectedEvent) => e;
    try {
      const { timeline } = await readClockLog(store);
      for await (const e of readEvents(store, query, timeline)) print(shape(e));
    } catch (err) {
      if (err instanceof UnknownEventIdError) throw new UsageError(err.message);
      throw err;
    }
  }, async () => {
    // The daemon upcasts with the schemas it loaded at its start.
    for await (const line of fetchLines(config, `/api/events?${params}`)) print(JSON.parse(line) as CorrectedEvent);
  });
  header();
  bar.done();
}
