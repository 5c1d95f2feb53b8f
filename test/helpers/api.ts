// Reading a running daemon through its HTTP API (SPEC §7): the store itself is private
// to the daemon (and locked by LevelDB while it runs).
import type { EdgeEvent } from '../../src/events/types.js';
import type { RejectedRecord } from '../../src/store/rejected.js';

export function parseNdjson<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url);
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${body}`);
  return body;
}

/** GET /api/events with the `events` filters (since, source, type, fromSeq, limit, …). */
export async function getEvents(httpUrl: string, filters: Record<string, string | number> = {}): Promise<EdgeEvent[]> {
  const params = new URLSearchParams(Object.entries(filters).map(([k, v]): [string, string] => [k, String(v)]));
  return parseNdjson<EdgeEvent>(await getText(`${httpUrl}/api/events?${params}`));
}

export async function getDlq(httpUrl: string): Promise<RejectedRecord[]> {
  return parseNdjson<RejectedRecord>(await getText(`${httpUrl}/api/dlq`));
}

export async function getStatus(httpUrl: string): Promise<Record<string, unknown>> {
  return JSON.parse(await getText(`${httpUrl}/api/status`)) as Record<string, unknown>;
}

export function getMetrics(httpUrl: string): Promise<string> {
  return getText(`${httpUrl}/metrics`);
}

/** The value of one sample in Prometheus text, or undefined if absent. Labels must match exactly. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}
