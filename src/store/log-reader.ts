// Reads of the log: by seq range, by source from a stream version, from a time, from an
// event id, by correlation chain. Each read is a bounded iterator, never the whole log in
// memory. Times a reader names are wall-clock times, matched against corrected timestamps
// (see time/timeline.ts); the receive-time marks that find where to start are on the
// gateway clock.
import { decodeEvent } from '../events/codec.js';
import type { EdgeEvent, EventType } from '../events/types.js';
import { Timeline } from '../time/timeline.js';
import { chainSeqKeys, firstChainSeq } from './correlation-index.js';
import type { EventStore } from './event-store.js';
import { parseSeqKey, SEP, SEP_END, seqKey, streamKey, timeKey } from './keys.js';
import { segmentForSeq, StreamVersionFill } from './stream-versions.js';
import { mayBeOfType, typeNeedle } from './type-prefilter.js';

export interface EventQuery {
  fromSeq?: number;
  toSeq?: number;
  /** epoch ms: events whose (corrected) timestamp is at or after this */
  since?: number;
  /** epoch ms: events whose (corrected) timestamp is at or before this */
  until?: number;
  /** gateway clock: start with the events received at or after this (rule rebuilds) */
  receivedSince?: number;
  /** each event also carries `correctedTimestamp` */
  corrected?: boolean;
  source?: string;
  /** with `source`: start at this stream version (1 = the source's first event) */
  fromVersion?: number;
  type?: EventType;
  /** start at the event with this id (inclusive) */
  fromId?: string;
  /** the chain: the event with this id and every event whose correlation id it is (read through the correlation index) */
  correlation?: string;
  limit?: number;
}

/** Device clocks drift: a `since` read starts this much before the receive-time index says. */
export const TIMESTAMP_SKEW_MS = 5 * 60_000;
const CHUNK = 256;
/** How far past a gateway-made id's time the scan for it goes (a commit is sealed after receipt). */
const ULID_SCAN_MS = 60_000;

/** An event as a reader shows it with corrected times: the stored event and `correctedTimestamp`. */
export type CorrectedEvent = EdgeEvent & { correctedTimestamp?: string };

export function withCorrectedTime(e: EdgeEvent, timeline: Timeline): CorrectedEvent {
  return { ...e, correctedTimestamp: timeline.correctedTimestamp(e) };
}

export class UnknownEventIdError extends Error {
  constructor(id: string) {
    super(`no stored event has id ${JSON.stringify(id)}`);
    this.name = 'UnknownEventIdError';
  }
}

const SEQ_ID = /^(.+):(\d+):(\d+)$/;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The log seq of the event with this id, or null. `through`: the event is known to be at
 * or before this seq (a chain's root precedes what it caused), so a source's stream is
 * searched back from there rather than forward from its start.
 */
export async function seqOfId(store: EventStore, id: string, through = Infinity): Promise<number | null> {
  // A publisher's id is indexed: `<seq key>:<receive time>`.
  const entry = await store.ids.get(id);
  if (entry !== undefined) return parseSeqKey(entry.slice(0, entry.indexOf(':')));
  // Ids the gateway derived are not indexed (that would cost a write per event); they
  // are found through what they encode: the source's stream, or the ULID's time.
  const derived = SEQ_ID.exec(id);
  if (derived) {
    const found = through === Infinity ? seqsOfSource(store, derived[1], 1, 1) : seqsOfSourceThrough(store, derived[1], through);
    for await (const keys of found) {
      const values = await store.log.getMany(keys);
      for (const v of values) {
        const e = v === undefined ? null : decodeEvent(v);
        if (e?.id === id) return e.seq;
      }
    }
  }
  if (ULID.test(id)) return seqOfUlid(store, id);
  return null;
}

/**
 * A gateway-made ULID's time is the gateway clock at receipt, so the receive-time marks
 * say where to look: from the commit sealed at or before it, up to a minute past it.
 * Gateway ULIDs grow with the log, so the scan stops at the first one past a second later.
 */
async function seqOfUlid(store: EventStore, id: string): Promise<number | null> {
  const ms = ulidTime(id);
  const from = await store.times.values({ lte: timeKey(ms), reverse: true, limit: 1 }).all();
  const to = await store.times.values({ gt: timeKey(ms + ULID_SCAN_MS), limit: 1 }).all();
  const toSeq = to.length ? parseSeqKey(to[0]) : undefined;
  for await (const values of valuesFrom(store, from.length ? parseSeqKey(from[0]) : 1, toSeq)) {
    for (const v of values) {
      const e = decodeEvent(v);
      if (e.id === id) return e.seq;
      if (ULID.test(e.id) && ulidTime(e.id) > ms + 1_000) return null;
    }
  }
  return null;
}

function ulidTime(id: string): number {
  let ms = 0;
  for (let i = 0; i < 10; i++) ms = ms * 32 + ULID_ALPHABET.indexOf(id[i]);
  return ms;
}

/** The first seq of the commits received at or after `g` on the gateway clock. */
async function seqReceivedSince(store: EventStore, g: number): Promise<number | null> {
  if (g === Infinity) return null;
  const marks = await store.times.values({ lte: timeKey(Math.max(0, g)), reverse: true, limit: 1 }).all();
  return marks.length ? parseSeqKey(marks[0]) : 1;
}

async function startSeq(store: EventStore, q: EventQuery, timeline: Timeline): Promise<number> {
  let start = q.fromSeq ?? 1;
  if (q.fromId !== undefined) {
    const seq = await seqOfId(store, q.fromId);
    if (seq === null) throw new UnknownEventIdError(q.fromId);
    start = Math.max(start, seq);
  }
  if (q.receivedSince !== undefined) start = Math.max(start, (await seqReceivedSince(store, q.receivedSince)) ?? Infinity);
  if (q.since !== undefined) start = Math.max(start, (await seqReceivedSince(store, timeline.gatewayTimeOf(q.since - TIMESTAMP_SKEW_MS))) ?? Infinity);
  return start;
}

function matches(e: EdgeEvent, q: EventQuery, timeline: Timeline): boolean {
  if (q.type !== undefined && e.type !== q.type) return false;
  if (q.source !== undefined && e.source !== q.source) return false;
  if (q.toSeq !== undefined && e.seq > q.toSeq) return false;
  // The index names seqs; the event itself has the last word (an entry an older release
  // left behind when it deleted the event may point at a seq used again).
  if (q.correlation !== undefined && e.metadata.correlationId !== q.correlation && e.id !== q.correlation) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = timeline.correctedTime(e);
    if (q.since !== undefined && !(t >= q.since)) return false;
    if (q.until !== undefined && !(t <= q.until)) return false;
  }
  return true;
}

/**
 * The seq keys of a source's events from a stream version on. The stream is stored as
 * segments (one per commit that appended for the source: first version → its seqs), so
 * the read starts at the segment holding `fromVersion`.
 */
async function* seqsOfSource(store: EventStore, source: string, fromVersion: number, fromSeq: number): AsyncGenerator<string[]> {
  const holding = await store.streams.keys({ lte: streamKey(source, fromVersion), gte: source + SEP, reverse: true, limit: 1 }).all();
  let start = holding.length ? holding[0] : streamKey(source, fromVersion);
  // A read from a seq (a followed stream's next page) seeks to it, not through the stream up to it.
  if (fromSeq > 1) {
    const bySeq = await segmentForSeq(store, source, fromSeq);
    if (bySeq !== null && bySeq.key > start) start = bySeq.key;
  }
  const it = store.streams.iterator({ gte: start, lt: source + SEP_END });
  try {
    for (;;) {
      const segments = await it.nextv(CHUNK);
      if (segments.length === 0) return;
      const out: string[] = [];
      for (const [key, value] of segments) {
        let version = Number(key.slice(key.lastIndexOf(SEP) + 1));
        for (const s of value.split(' ')) {
          const seq = Number(s);
          if (version++ >= fromVersion && seq >= fromSeq) out.push(seqKey(seq));
        }
      }
      yield out;
    }
  } finally {
    await it.close();
  }
}

/** A source's seq keys at or below `through`, newest first: events above it are not read. */
async function* seqsOfSourceThrough(store: EventStore, source: string, through: number): AsyncGenerator<string[]> {
  const it = store.streams.values({ gte: source + SEP, lt: source + SEP_END, reverse: true });
  try {
    for (;;) {
      const segments = await it.nextv(CHUNK);
      if (segments.length === 0) return;
      const out: string[] = [];
      for (const value of segments) {
        const seqs = value.split(' ');
        for (let i = seqs.length - 1; i >= 0; i--) {
          const seq = Number(seqs[i]);
          if (seq <= through) out.push(seqKey(seq));
        }
      }
      if (out.length) yield out;
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

/**
 * The seq keys of a chain: its indexed events, and its root (the event whose id names the
 * chain), which may carry no correlation id of its own and is found through its id.
 */
async function chainOf(store: EventStore, correlationId: string, fromSeq: number, toSeq: number | undefined): Promise<AsyncGenerator<string[]>> {
  const root = await seqOfId(store, correlationId, (await firstChainSeq(store, correlationId)) ?? Infinity);
  return chainSeqKeys(store, correlationId, root, fromSeq, toSeq);
}

const NO_TIMELINE = new Timeline();

/**
 * Events matching `q`, in log order. `timeline` (the store's clock segments, see
 * clock-log.ts) corrects timestamps; without it they are taken as stored.
 */
export async function* readEvents(store: EventStore, q: EventQuery = {}, timeline: Timeline = NO_TIMELINE): AsyncGenerator<CorrectedEvent> {
  const start = await startSeq(store, q, timeline);
  let left = q.limit ?? Infinity;
  if (left <= 0 || start === Infinity) return;
  const keyed = q.correlation !== undefined
    ? await chainOf(store, q.correlation, start, q.toSeq)
    : q.source !== undefined ? seqsOfSource(store, q.source, q.fromVersion ?? 1, start) : null;
  const chunks = keyed !== null
    ? (async function* () {
      for await (const keys of keyed) {
        const values = await store.log.getMany(keys);
        yield values.filter((v): v is Uint8Array => v !== undefined);
      }
    })()
    : valuesFrom(store, start, q.toSeq);
  const needle = q.type !== undefined ? typeNeedle(q.type) : null;
  // Events an older release stored lack their stream version: filled from the streams.
  const versions = new StreamVersionFill(store);
  for await (const values of chunks) {
    for (const bytes of values) {
      if (needle !== null && !mayBeOfType(bytes, needle)) continue;
      let event = decodeEvent(bytes);
      if (!matches(event, q, timeline)) continue;
      if (event.version === undefined) event = await versions.fill(event);
      // A chain read goes by its index, not the stream: the version is checked here.
      if (q.fromVersion !== undefined && event.version !== undefined && event.version < q.fromVersion) continue;
      yield q.corrected ? withCorrectedTime(event, timeline) : event;
      if (--left <= 0) return;
    }
  }
}
