// `GET /api/events?follow=1`: the log as server-sent events, live. Each stream reads the log
// itself, from its own cursor up to the seq the log has made durable, one page at a time and
// only as fast as its client takes them: a slow client costs one page and one socket buffer,
// never a queue of events, and nothing is sent before its commit is durable. Each event
// carries its seq as the SSE id, so a reconnect with Last-Event-ID resumes right after it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus } from '../pipeline/bus.js';
import { FilterError, parseEventFilters, type EventFilterText } from '../store/event-filters.js';
import type { EventStore } from '../store/event-store.js';
import { readEvents, UnknownEventIdError, type CorrectedEvent, type EventQuery } from '../store/log-reader.js';
import type { Timeline } from '../time/timeline.js';
import type { Logger } from '../util/log.js';
import { CommitSignal } from './commit-signal.js';

/** Events read from the log per step: what a stream holds in memory at most, beside its socket buffer. */
const PAGE = 256;
/** Proxies drop idle connections (nginx after 60 s by default): a comment line this often keeps one open. */
const HEARTBEAT_MS = 15_000;

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  // nginx would otherwise buffer the stream.
  'x-accel-buffering': 'no',
};

export interface EventStreamsOptions {
  store: EventStore;
  bus: EventBus;
  /** The last seq the log has made durable. */
  committedSeq: () => number;
  timeline?: Timeline;
  log: Logger;
  heartbeatMs?: number;
}

/** One stream as the daemon sees it (Daemon.eventStreams). */
export interface StreamState {
  /** The seq of the last event written to the client (0: none yet). */
  sentSeq: number;
  /** Bytes written but not yet taken by the client's connection. */
  bufferedBytes: number;
  /** Writing stopped until the client reads. */
  waitingForClient: boolean;
}

/**
 * The `events` filters of a followed stream. `limit` is refused (a stream has no end);
 * `lastEventId` (the SSE header a reconnecting client sends) resumes after that seq.
 */
export function followQuery(text: EventFilterText, lastEventId?: string): EventQuery {
  if (text.limit !== undefined) throw new FilterError('--limit: a followed stream has no end; leave out limit with follow');
  const query = parseEventFilters(text);
  if (lastEventId !== undefined && lastEventId !== '') {
    const seq = Number(lastEventId);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new FilterError(`Last-Event-ID: expected the seq of the last event received, got ${JSON.stringify(lastEventId)}`);
    query.fromSeq = Math.max(query.fromSeq ?? 1, seq + 1);
    // The start it named is behind the client now (and may have been pruned since).
    delete query.fromId;
  }
  return query;
}

interface Page {
  events: CorrectedEvent[];
  /** Every seq up to this one has been read. */
  through: number;
}

class Stream {
  readonly abort = new AbortController();
  sentSeq = 0;
  waitingForClient = false;
  constructor(readonly res: ServerResponse) {}
}

export class EventStreams {
  private readonly commits: CommitSignal;
  private readonly open = new Map<Stream, Promise<void>>();

  constructor(private readonly opts: EventStreamsOptions) {
    this.commits = new CommitSignal(opts.bus, opts.committedSeq);
  }

  states(): StreamState[] {
    return [...this.open.keys()].map((s) => ({ sentSeq: s.sentSeq, bufferedBytes: s.res.writableLength, waitingForClient: s.waitingForClient }));
  }

  /** Answers one follow request: a 400 for bad filters, else the stream until either side ends it. */
  async serve(text: EventFilterText, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.commits.isClosed) return reply(res, 503, { error: 'the daemon is stopping' });
    let query: EventQuery;
    let first: Page;
    try {
      const lastEventId = req.headers['last-event-id'];
      query = followQuery(text, Array.isArray(lastEventId) ? lastEventId[0] : lastEventId);
      // The first page before the status line: an unknown fromId is a 400.
      first = await this.page(query, 0, this.commits.committedSeq);
    } catch (err) {
      if (err instanceof FilterError || err instanceof UnknownEventIdError) return reply(res, 400, { error: err.message });
      throw err;
    }
    res.writeHead(200, HEADERS);
    if (req.method === 'HEAD') return void res.end();
    res.flushHeaders();
    // The start it named is passed: the pages after the first read from their own cursor.
    const next = { ...query };
    delete next.fromId;
    const stream = new Stream(res);
    res.once('close', () => stream.abort.abort());
    const done = this.pump(stream, next, first);
    this.open.set(stream, done);
    try {
      await done;
    } finally {
      this.open.delete(stream);
    }
  }

  /** Ends every stream cleanly (the daemon stops); resolves once none reads the store. */
  async close(): Promise<void> {
    this.commits.close();
    for (const s of this.open.keys()) s.abort.abort();
    await Promise.all(this.open.values());
  }

  private async pump(s: Stream, query: EventQuery, first: Page): Promise<void> {
    const { res } = s;
    const signal = s.abort.signal;
    const heartbeat = setInterval(() => {
      // A client that is not reading gets nothing more queued, not even this.
      if (!signal.aborted && !res.writableNeedDrain) res.write(': heartbeat\n\n');
    }, this.opts.heartbeatMs ?? HEARTBEAT_MS);
    try {
      let page = first;
      for (;;) {
        for (const e of page.events) {
          if (signal.aborted) return;
          const taken = res.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
          s.sentSeq = e.seq;
          if (!taken) {
            s.waitingForClient = true;
            await drained(res, signal);
            s.waitingForClient = false;
          }
        }
        let head = this.commits.committedSeq;
        if (page.through >= head) {
          if (!(await this.commits.past(page.through, signal))) return;
          head = this.commits.committedSeq;
        }
        page = await this.page(query, page.through, head);
      }
    } catch (err) {
      // A read failed (the store being reopened after a write error, …): the client resumes
      // from its last id on a new connection.
      this.opts.log.warn({ err }, 'event stream: reading the log failed; the stream ends');
      res.destroy();
    } finally {
      clearInterval(heartbeat);
      await finish(res);
    }
  }

  /** The matching events after seq `after`, up to `head` and at most PAGE of them. */
  private async page(query: EventQuery, after: number, head: number): Promise<Page> {
    const events: CorrectedEvent[] = [];
    const from = Math.max(query.fromSeq ?? 1, after + 1);
    if (from > head) return { events, through: Math.max(after, head) };
    for await (const e of readEvents(this.opts.store, { ...query, fromSeq: from, toSeq: head, limit: PAGE }, this.opts.timeline)) events.push(e);
    return { events, through: events.length === PAGE ? events[PAGE - 1].seq : head };
  }
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    signal.addEventListener('abort', done);
  });
}

/**
 * Ends the response: the chunked end goes out to a client that reads, so it sees a clean
 * end of stream; one that stopped reading is cut off, or the daemon's stop would wait on it.
 */
function finish(res: ServerResponse): Promise<void> {
  if (res.destroyed || res.writableFinished) return Promise.resolve();
  if (res.writableNeedDrain) {
    res.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
    res.end();
  });
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
