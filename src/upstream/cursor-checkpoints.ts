// The forwarder's cursor seen as read-only checkpoints (`checkpoint list`, `replay --from
// checkpoint:upstream`). Routes do not keep cursors of their own: a batch counts as
// acknowledged only once every topic it went to has acknowledged it (routes/upstream-routing.ts),
// so the one cursor is true of every upstream route, and each route is listed with it.
import type { Config } from '../config/types.js';
import { UPSTREAM_CHECKPOINT, type CursorCheckpoint } from '../store/checkpoints.js';

/** `upstream`, then `upstream:<route name>` per upstream route; none without an upstream. */
export function cursorCheckpoints(config: Config, cursor: number): CursorCheckpoint[] {
  if (config.upstream === undefined) return [];
  const out: CursorCheckpoint[] = [{ name: UPSTREAM_CHECKPOINT, seq: cursor, note: 'the forwarder\'s cursor: the last seq upstream acknowledged' }];
  for (const r of config.routes) {
    if (r.destination === 'upstream') out.push({ name: `${UPSTREAM_CHECKPOINT}:${r.name}`, seq: cursor, note: 'shares the forwarder\'s cursor' });
  }
  return out;
}
