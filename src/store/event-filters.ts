// The `events` filters of SPEC §1 as text (CLI flags, HTTP query string) → an EventQuery.
// One parser, so the CLI and /api/events accept exactly the same things.
import { parseSince } from '../config/units.js';
import { EVENT_TYPES, isEventType } from '../events/types.js';
import type { EventQuery } from './log-reader.js';

export interface EventFilterText {
  since?: string;
  until?: string;
  source?: string;
  type?: string;
  fromSeq?: string;
  /** with `source`: from this stream version on (1 = the source's first event) */
  fromVersion?: string;
  fromId?: string;
  /** a correlation id: the chain it names */
  correlation?: string;
  limit?: string;
  /** "1" / "true": add `correctedTimestamp` to each event */
  corrected?: string;
}

export const FILTER_NAMES: readonly (keyof EventFilterText)[] = ['since', 'until', 'source', 'type', 'fromSeq', 'fromVersion', 'fromId', 'correlation', 'limit', 'corrected'];

export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new FilterError(`--${name}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

function time(name: string, text: string, now: number): number {
  try {
    return parseSince(text, now);
  } catch (err) {
    throw new FilterError(`--${name}: ${(err as Error).message}`);
  }
}

export function parseEventFilters(f: EventFilterText, now = Date.now()): EventQuery {
  const q: EventQuery = {};
  if (f.since !== undefined) q.since = time('since', f.since, now);
  if (f.until !== undefined) q.until = time('until', f.until, now);
  if (f.source !== undefined) q.source = f.source;
  if (f.type !== undefined) {
    if (!isEventType(f.type)) throw new FilterError(`--type: expected one of ${EVENT_TYPES.join(', ')}, got ${JSON.stringify(f.type)}`);
    q.type = f.type;
  }
  if (f.fromSeq !== undefined) q.fromSeq = positiveInt('from-seq', f.fromSeq);
  if (f.fromVersion !== undefined) {
    const n = Number(f.fromVersion);
    if (!Number.isSafeInteger(n) || n < 1 || f.fromVersion.trim() === '') throw new FilterError(`--from-version: expected a stream version (an integer from 1), got ${JSON.stringify(f.fromVersion)}`);
    if (f.source === undefined) throw new FilterError('--from-version needs --source: a stream version counts one source\'s events');
    q.fromVersion = n;
  }
  if (f.fromId !== undefined) q.fromId = f.fromId;
  if (f.correlation !== undefined) {
    if (f.correlation === '') throw new FilterError('--correlation: expected a correlation id or event id, got an empty string');
    q.correlation = f.correlation;
  }
  if (f.limit !== undefined) q.limit = positiveInt('limit', f.limit);
  if (f.corrected !== undefined) {
    if (!['1', 'true', '0', 'false'].includes(f.corrected)) throw new FilterError(`--corrected: expected true or false, got ${JSON.stringify(f.corrected)}`);
    q.corrected = f.corrected === '1' || f.corrected === 'true';
  }
  return q;
}
