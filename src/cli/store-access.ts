// The CLI reads the store directly when the daemon is stopped; while it runs, LevelDB's
// lock keeps other processes out, so the CLI asks the daemon's HTTP API instead.
import { existsSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { EventStore, storeDir } from '../store/event-store.js';
import { Backoff } from '../util/backoff.js';
import { readRuntime } from '../util/runtime-file.js';
import { RuntimeFailure, UsageError } from './args.js';

function isLocked(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'LEVEL_LOCKED') return true;
  }
  return false;
}

/** Waits of 25 ms doubling to 3.2 s: some 6 s in all before a lock counts as held for good. */
const LOCK_ATTEMPTS = 8;

/** Runs `local` against the opened store, or `remote` when the daemon holds it. */
export async function withStore<T>(config: Config, local: (store: EventStore) => Promise<T>, remote: () => Promise<T>): Promise<T> {
  const dir = storeDir(config.dataDir);
  if (!existsSync(dir)) throw new UsageError(`no event store at ${dir} (dataDir ${config.dataDir})`);
  let store: EventStore | null = null;
  // Another CLI process may hold the lock for a moment; only a daemon holds it for long.
  const backoff = new Backoff({ initialDelay: 25, maxDelay: 3_200, multiplier: 2, jitter: false });
  while (store === null) {
    try {
      store = await EventStore.open(dir);
    } catch (err) {
      if (!isLocked(err)) throw err;
      if (readRuntime(config.dataDir) !== null) return remote();
      if (backoff.attempts >= LOCK_ATTEMPTS) throw new Error(`the event store at ${dir} is locked by another process`);
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
  }
  try {
    return await local(store);
  } finally {
    await store.close();
  }
}

function apiUrl(config: Config, path: string): string {
  const at = readRuntime(config.dataDir)?.http ?? config.http;
  const host = at.host === '0.0.0.0' || at.host === '::' ? '127.0.0.1' : at.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${at.port}${path}`;
}

/** Work only the running daemon can do (it owns the pipeline and the upstream link). */
export function requireDaemon(config: Config, what: string): void {
  if (readRuntime(config.dataDir) === null) throw new RuntimeFailure(`${what} needs the running daemon (none found for dataDir ${config.dataDir}); start it with \`edgebus start\``);
}

/** POST a JSON body (GET with none) to the running daemon's API and return the response. */
async function request(config: Config, path: string, body: object | null, timeoutMs?: number, signal?: AbortSignal): Promise<Response> {
  const url = apiUrl(config, path);
  const headers: Record<string, string> = config.http.token ? { authorization: `Bearer ${config.http.token}` } : {};
  try {
    if (body === null) return await fetch(url, { headers, signal: signal ?? (timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)) });
    return await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    throw new RuntimeFailure(`the daemon's API at ${url} did not answer: ${(err as Error).message}`);
  }
}

export async function postJson<T>(config: Config, path: string, body: object): Promise<T> {
  const res = await request(config, path, body);
  const answer = (await res.json()) as T & { error?: string };
  if (res.status === 400) throw new UsageError(answer.error ?? 'bad request');
  if (!res.ok) throw new RuntimeFailure(`${path}: HTTP ${res.status} ${answer.error ?? ''}`);
  return answer;
}

/** A JSON request of any method to the running daemon's API; 400 and 404 are the caller's mistakes. */
export async function requestJson<T>(config: Config, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: object): Promise<T> {
  const url = apiUrl(config, path);
  const headers: Record<string, string> = config.http.token ? { authorization: `Bearer ${config.http.token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new RuntimeFailure(`the daemon's API at ${url} did not answer: ${(err as Error).message}`);
  }
  // Anything but JSON (a proxy's error page) leaves only the status to report.
  const answer = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (res.status === 400 || res.status === 404) throw new UsageError(answer.error ?? `${path}: HTTP ${res.status}`);
  if (!res.ok) throw new RuntimeFailure(`${path}: HTTP ${res.status} ${answer.error ?? ''}`);
  return answer;
}

/** GET a short answer (not a stream) from the running daemon's API, as text. */
export async function getText(config: Config, path: string): Promise<string> {
  const res = await request(config, path, null, 10_000);
  const body = await res.text();
  if (!res.ok) throw new RuntimeFailure(`${path}: HTTP ${res.status} ${body.trim()}`);
  return body;
}

/** POST to the running daemon's API, reading its answer as NDJSON lines. */
export function postLines(config: Config, path: string, body: object): AsyncGenerator<string> {
  return lines(request(config, path, body), path);
}

/** GET a path of the running daemon's API as a stream of NDJSON lines. */
export function fetchLines(config: Config, path: string): AsyncGenerator<string> {
  return lines(request(config, path, null).catch((err: unknown) => {
    throw new Error(`the store is locked by a running daemon, but ${(err as Error).message}`);
  }), path);
}

/** GET a stream the daemon keeps open (server-sent events) as lines, until it ends or `signal` aborts. */
export function streamLines(config: Config, path: string, signal: AbortSignal): AsyncGenerator<string> {
  return lines(request(config, path, null, undefined, signal), path);
}

async function* lines(pending: Promise<Response>, path: string): AsyncGenerator<string> {
  const res = await pending;
  if (res.status === 400) throw new UsageError(((await res.json()) as { error: string }).error);
  if (!res.ok || !res.body) throw new Error(`${path}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) yield line;
    }
  }
  if (buffered.trim()) yield buffered;
}
