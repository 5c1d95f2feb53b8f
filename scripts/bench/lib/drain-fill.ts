// Builds the backlog: exactly `events` QoS 1 readings published into the daemon's broker
// over the load generator's raw connections (connection.ts), every window kept full, while
// the upstream link is cut. Resolves once every publish is acknowledged, that is durable.
import { performance } from 'node:perf_hooks';
import { Connection, type ConnectionHooks } from './connection.js';

export interface FillResult {
  events: number;
  seconds: number;
}

export async function fillBacklog(port: number, events: number, connections: number, window: number, prefix: string): Promise<FillResult> {
  const n = Math.min(connections, events);
  const quota = new Map<Connection, number>();
  let acked = 0;
  let lost: Error | null = null;
  let finished: (() => void) | null = null;
  const hooks: ConnectionHooks = {
    onAck: () => {
      if (++acked === events) finished?.();
    },
    onWindowFree: (conn) => top(conn),
    onLost: (err) => {
      lost ??= err;
      finished?.();
    },
  };
  const top = (conn: Connection): void => {
    const left = quota.get(conn) ?? 0;
    if (left > 0) quota.set(conn, left - conn.send(left));
  };
  const conns = Array.from({ length: n }, (_, i) => new Connection(port, `${prefix}-${i}`, `dev-${i}`, window, hooks));
  conns.forEach((c, i) => quota.set(c, Math.floor(events / n) + (i < events % n ? 1 : 0)));
  await Promise.all(conns.map((c) => c.open()));
  const t0 = performance.now();
  const done = new Promise<void>((resolve) => (finished = resolve));
  for (const c of conns) top(c);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  if (lost !== null) throw lost;
  return { events, seconds };
}
