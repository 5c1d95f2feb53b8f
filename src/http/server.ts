// The daemon's HTTP API (SPEC §7): health, metrics, status, events, rejected payloads,
// and the dashboard page with its history.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import { readEvents, UnknownEventIdError } from '../store/log-reader.js';
import { FILTER_NAMES, FilterError, parseEventFilters, type EventFilterText } from '../store/event-filters.js';
import { listRejected } from '../store/rejected.js';
import { CheckpointArgumentError, type CheckpointView } from '../store/checkpoints.js';
import type { EventStore } from '../store/event-store.js';
import { listStreams } from '../store/stream-list.js';
import { Timeline } from '../time/timeline.js';
import type { EdgeEvent } from '../events/types.js';
import type { Metrics } from './metrics.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.js';
import type { Logger } from '../util/log.js';
import type { EventStreams } from './event-stream.js';

export type Health = 'starting' | 'ok' | 'stopping' | 'store-unavailable';

/** What the API can make the daemon do (POST), beyond reading. */
export interface HttpActions {
  dlqRetry(ids: string[] | null): Promise<object[]>;
  dlqPurge(ids: string[] | null): Promise<number>;
  /** Resolves with the number of events sent; throws ReplayArgumentError on a bad request. */
  replay(from: string, to: string, progress: (sent: number) => void, warn: (message: string) => void): Promise<number>;
  /** Named checkpoints and the forwarder's cursors; bad requests throw CheckpointArgumentError. */
  checkpoints: {
    list(): Promise<CheckpointView[]>;
    set(name: string, at: string): Promise<CheckpointView>;
    remove(name: string): Promise<void>;
  };
}

/** The current state of the devices (the daemon merges their profiles in). */
export interface DeviceReads {
  list(): Promise<object[]>;
  /** null: no such device. */
  get(id: string): Promise<object | null>;
}

/** A request the caller got wrong: answered 400 with the message. */
export class BadRequestError extends Error {}

export interface HttpOptions {
  host: string;
  port: number;
  token?: string;
  store: EventStore;
  metrics: Metrics;
  health: () => Health;
  /** Why health is not ok, when the daemon knows (e.g. the store write error); shown by /healthz. */
  healthReason?: () => string | null;
  status: () => Promise<object>;
  /** The dashboard's recent past (`GET /api/history`); absent: 404. */
  history?: () => object;
  /** The clock's segments over the log: corrected times in /api/events. */
  timeline?: Timeline;
  /** `GET /api/clock`: the gateway clock now and its segments (what a backtest run elsewhere needs). */
  clock?: () => object;
  actions: HttpActions;
  /** `GET /api/events?follow=1` (server-sent events); absent: follow is refused. */
  follow?: EventStreams;
  /** An event in its schema's latest version (`/api/events?as=latest`); absent: no schemas, events as stored. */
  latest?: <T extends EdgeEvent>(e: T) => T;
  /** `GET /api/devices[/:id]`: the device-state projection with the profiles merged; absent: 404. */
  devices?: DeviceReads;
  log: Logger;
}

/** `/api/devices/<id>`, the id percent-encoded (it may hold `/`). */
const DEVICE_PATH = '/api/devices/';

/** Bodies of the POST endpoints are small JSON objects. */
const MAX_BODY_BYTES = 1 << 20;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class HttpApi {
  private readonly server: Server;
  private readonly tokenDigest: Buffer | null;

  constructor(private readonly opts: HttpOptions) {
    this.tokenDigest = opts.token ? digest(opts.token) : null;
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        opts.log.error({ err, url: req.url }, 'http request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
  }

  async start(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async stop(): Promise<void> {
    // Streams first: they end cleanly and stop reading the store before connections are cut.
    await this.opts.follow?.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    if (!this.tokenDigest) return true;
    const header = req.headers.authorization ?? '';
    let given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // The dashboard page alone may be opened as `/?token=…` (a browser cannot send the
    // header on navigation); the page then sends the header on its own fetches.
    if (given === '' && url.pathname === '/' && req.method !== 'POST') given = url.searchParams.get('token') ?? '';
    // Compare digests: constant time, and equal lengths whatever was sent.
    return timingSafeEqual(digest(given), this.tokenDigest);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz' && req.method !== 'POST') {
      const health = this.opts.health();
      const reason = health === 'ok' ? null : this.opts.healthReason?.() ?? null;
      return send(res, health === 'ok' ? 200 : 503, reason === null ? { status: health } : { status: health, reason });
    }
    if (!this.authorized(req, url)) return send(res, 401, { error: 'missing or wrong bearer token' });
    if (url.pathname === '/api/checkpoints' || url.pathname.startsWith('/api/checkpoints/')) return this.checkpoints(url.pathname, req, res);
    if (req.method === 'POST') return this.post(url.pathname, req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    switch (url.pathname) {
      case '/':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store',
          'content-security-policy': DASHBOARD_CSP, 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff',
        });
        res.end(req.method === 'HEAD' ? undefined : DASHBOARD_HTML);
        return;
      case '/api/history':
        if (!this.opts.history) return send(res, 404, { error: 'no history kept' });
        return send(res, 200, this.opts.history());
      case '/metrics': {
        const text = await this.opts.metrics.text();
        res.writeHead(200, { 'content-type': this.opts.metrics.contentType });
        res.end(text);
        return;
      }
      case '/api/status':
        return send(res, 200, await this.opts.status());
      case '/api/events':
        return this.events(url, req, res);
      case '/api/streams':
        return ndjson(res, await listStreams(this.opts.store, this.opts.timeline ?? new Timeline()));
      case '/api/clock':
        if (!this.opts.clock) return send(res, 404, { error: 'no clock' });
        return send(res, 200, this.opts.clock());
      case '/api/dlq': {
        const limit = Number(url.searchParams.get('limit') ?? '1000');
        const records = await listRejected(this.opts.store, { limit: Number.isFinite(limit) ? limit : 1000 });
        return ndjson(res, records);
      }
      case '/api/devices':
        if (!this.opts.devices) return send(res, 404, { error: 'no device state here' });
        return send(res, 200, { devices: await this.opts.devices.list() });
      default:
        if (url.pathname.startsWith(DEVICE_PATH)) return this.device(url.pathname.slice(DEVICE_PATH.length), res);
        return send(res, 404, { error: `no such path: ${url.pathname}` });
    }
  }

  private async device(encodedId: string, res: ServerResponse): Promise<void> {
    if (!this.opts.devices) return send(res, 404, { error: 'no device state here' });
    let id: string;
    try {
      id = decodeURIComponent(encodedId);
    } catch {
      return send(res, 400, { error: `device id is not valid percent-encoding: ${JSON.stringify(encodedId.slice(0, 80))}` });
    }
    const device = id === '' ? null : await this.opts.devices.get(id);
    if (device === null) return send(res, 404, { error: `no device ${JSON.stringify(id)} in the device state` });
    return send(res, 200, device);
  }

  private async post(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { actions } = this.opts;
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
      switch (path) {
        case '/api/dlq/retry':
          return send(res, 200, { results: await actions.dlqRetry(idsOf(body)) });
        case '/api/dlq/purge':
          return send(res, 200, { purged: await actions.dlqPurge(idsOf(body)) });
        case '/api/replay': {
          if (typeof body.from !== 'string' || typeof body.to !== 'string') throw new BadRequestError('expected {"from": "...", "to": "upstream|rules"}');
          // Progress lines while it runs, then the total: the CLI draws its bar from them.
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          let sent = 0;
          try {
            sent = await actions.replay(body.from, body.to, (n) => res.write(JSON.stringify({ sent: n }) + '\n'),
              (message) => res.write(JSON.stringify({ warning: message }) + '\n'));
            res.end(JSON.stringify({ done: true, sent }) + '\n');
          } catch (err) {
            res.end(JSON.stringify({ error: (err as Error).message, badRequest: err instanceof BadRequestError || (err as Error).name === 'ReplayArgumentError' }) + '\n');
          }
          return;
        }
        default:
          return send(res, 404, { error: `no such path: ${path}` });
      }
    } catch (err) {
      if (err instanceof BadRequestError || (err as Error).name === 'ReplayArgumentError') return send(res, 400, { error: (err as Error).message });
      throw err;
    }
  }

  /** `GET /api/checkpoints`; `PUT` (or `POST`) `/api/checkpoints/NAME` `{"at": …}`; `DELETE /api/checkpoints/NAME`. */
  private async checkpoints(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { checkpoints } = this.opts.actions;
    try {
      if (path === '/api/checkpoints') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
        return send(res, 200, { checkpoints: await checkpoints.list() });
      }
      let name: string;
      try {
        name = decodeURIComponent(path.slice('/api/checkpoints/'.length));
      } catch {
        throw new BadRequestError('the checkpoint name is not valid percent-encoding');
      }
      switch (req.method) {
        case 'PUT':
        case 'POST': {
          const body = await readJson(req);
          if (body.at !== undefined && typeof body.at !== 'string') throw new BadRequestError('expected {"at": "now|seq:N|time:ISO"}');
          return send(res, 200, { checkpoint: await checkpoints.set(name, body.at ?? 'now') });
        }
        case 'DELETE':
          await checkpoints.remove(name);
          return send(res, 200, { removed: name });
        default:
          return send(res, 405, { error: 'method not allowed' });
      }
    } catch (err) {
      if (err instanceof CheckpointArgumentError) return send(res, err.notFound ? 404 : 400, { error: err.message });
      if (err instanceof BadRequestError) return send(res, 400, { error: err.message });
      throw err;
    }
  }

  private async events(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text: EventFilterText = {};
    for (const name of FILTER_NAMES) {
      const v = url.searchParams.get(name);
      if (v !== null) text[name] = v;
    }
    const as = url.searchParams.get('as') ?? 'as-stored';
    if (as !== 'as-stored' && as !== 'latest') return send(res, 400, { error: `as: expected as-stored or latest, got ${JSON.stringify(as)}` });
    const shape = as === 'latest' ? this.opts.latest : undefined;
    const follow = url.searchParams.get('follow');
    if (follow !== null && follow !== '0' && follow !== 'false') {
      if (as === 'latest') return send(res, 400, { error: 'as=latest is for stored events: follow streams them as stored' });
      if (follow !== '1' && follow !== 'true') return send(res, 400, { error: `follow: expected 1 or true, got ${JSON.stringify(follow)}` });
      if (!this.opts.follow) return send(res, 404, { error: 'no live stream here' });
      return this.opts.follow.serve(text, req, res);
    }
    let iter;
    try {
      iter = readEvents(this.opts.store, parseEventFilters(text), this.opts.timeline);
      // Pull the first event before the status line, so a bad filter is a 400.
      const first = await iter.next();
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (!first.done) res.write(JSON.stringify(shape ? shape(first.value) : first.value) + '\n');
    } catch (err) {
      if (err instanceof FilterError || err instanceof UnknownEventIdError) return send(res, 400, { error: err.message });
      throw err;
    }
    for await (const event of iter) {
      if (!res.write(JSON.stringify(shape ? shape(event) : event) + '\n')) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function ndjson(res: ServerResponse, items: readonly object[]): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.end(items.map((i) => JSON.stringify(i) + '\n').join(''));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('request body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestError('request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** `{"ids": [...]}` names entries; no `ids` means all of them. */
function idsOf(body: Record<string, unknown>): string[] | null {
  if (body.ids === undefined || body.ids === null) return null;
  if (!Array.isArray(body.ids) || !body.ids.every((i) => typeof i === 'string')) throw new BadRequestError('"ids" must be an array of strings');
  return body.ids as string[];
}
