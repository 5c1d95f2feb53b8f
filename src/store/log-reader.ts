// Reads of the log: by seq range, by source from a stream version, from a timestamp,
// from an event id. Each read is a bounded iterator, never the whole log in memory.
import { decodeEvent } from '../events/codec.js';
import type { EdgeEvent, EventType } from '../events/types.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, SEP_END, seqKey, streamKey, timeKey } from './keys.js';

export interface EventQuery {
  fromSeq?: number;
  toSeq?: number;
  /** epoch ms: events whose timestamp is at or after this */
  since?: number;
  /** epoch ms: events whose timestamp is at or before this */
  until?: number;
  source?: string;
  /** with `source`: start at this stream version (1 = the source's first event) */
  fromVersion?: number;
  type?: EventType;
  /** start at the event with this id (inclusive) */
  fromId?: string;
  limit?: number;
}

/** Device clocks drift: a `since` read starts this much before the receive-time index says. */
export const TIMESTAMP_SKEW_MS = 5 * 60_000;
const CHUNK = 256;

export class UnknownEventIdError extends Error {
  constructor(id: string) {
    super(`no stored event has id ${JSON.stringify(id)}`);
    this.name = 'UnknownEventIdError';
  }
}

async function startSeq(store: EventStore, q: EventQuery): Promise<number> {
  let start = q.fromSeq ?? 1;
  if (q.fromId !== undefined) {
    const key = await store.ids.get(q.fromId);
    if (key === undefined) throw new UnknownEventIdError(q.fromId);
    // The id index holds `<seq key>:<receive time>`.
    start = Math.max(start, parseSeqKey(key.slice(0, key.indexOf(':'))));
  }
  if (q.since !== undefined) {
    const marks = await store.times.values({ lte: timeKey(Math.max(0, q.since - TIMESTAMP_SKEW_MS)), reverse: true, limit: 1 }).all();
    if (marks.length) start = Math.max(start, parseSeqKey(marks[0]));
  }
  return start;
}

function matches(e: EdgeEvent, q: EventQuery, since: number | undefined, until: number | undefined): boolean {
  if (q.type !== undefined && e.type !== q.type) return false;
  if (q.source !== undefined && e.source !== q.source) return false;
  if (q.toSeq !== undefined && e.seq > q.toSeq) return false;
  if (since !== undefined || until !== undefined) {
    const t = Date.parse(e.timestamp);
    if (since !== undefined && t < since) return false;
    if (until !== undefined && t > until) return false;
  }
  return true;
}

async function* seqsOfSource(store: EventStore, source: string, fromVersion: number, fromSeq: number): AsyncGenerator<string[]> {
  const it = store.streams.values({ gte: streamKey(source, fromVersion), lt: source + SEP_END });
  try {
    for (;;) {
      const keys = await it.nextv(CHUNK);
      if (keys.length === 0) return;
      yield keys.filter((k) => parseSeqKey(k) >= fromSeq);
    }
  } finally {
    await it.close();
  }
}

async function* valuesFrom(store: EventStore, start: number, toSeq: number | undefined): AsyncGenerator<Uint8Array[]> {
  const it = store.log.values({ gte: seqKey(start), ...(toSeq !== undefined ? { lte: seqKey(toSeq) } : {}) });
  try {
    for (;;) {
      const values = await it.nextv(CHUNK);
      if (values.length === 0) return;
      yield values;
    }
  } finally {
    await it.close();
  }
}

export async function* readEvents(store: EventStore, q: EventQuery = {}): AsyncGenerator<EdgeEvent> {
  const start = await startSeq(store, q);
  let left = q.limit ?? Infinity;
  if (left <= 0) return;
  const chunks = q.source !== undefined
    ? (async function* () {
      for await (const keys of seqsOfSource(store, q.source!, q.fromVersion ?? 1, start)) {
        const values = await store.log.getMany(keys);
        yield values.filter((v): v is Uint8Array => v !== undefined);
      }
    })()
    : valuesFrom(store, start, q.toSeq);
  for await (const values of chunks) {
    for (const bytes of values) {
      const event = decodeEvent(bytes);
      if (!matches(event, q, q.since, q.until)) continue;
      yield event;
      if (--left <= 0) return;
    }
  }
}
