// `edgebus events --follow`: the stored events that match, then each new one as the log
// commits it, until SIGINT or SIGTERM (exit 0). The daemon holds the store's lock, so this
// reads its live stream (`GET /api/events?follow=1`, server-sent events).
import type { Config } from '../config/types.js';
import type { CorrectedEvent } from '../store/log-reader.js';
import { RuntimeFailure, UsageError } from './args.js';
import { requireDaemon, streamLines } from './store-access.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** `params`: the `events` filters as /api/events takes them. */
export async function followEvents(config: Config, params: URLSearchParams, print: (e: CorrectedEvent) => void): Promise<void> {
  requireDaemon(config, 'events --follow');
  params.set('follow', '1');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const s of SIGNALS) process.once(s, onSignal);
  let last: number | null = null;
  let cut = '';
  try {
    for await (const line of streamLines(config, `/api/events?${params}`, stop.signal)) {
      // Each event is an `id: <seq>` line and one `data:` line; `:` lines are heartbeats.
      if (line.startsWith('data:')) print(JSON.parse(line.slice(line[5] === ' ' ? 6 : 5)) as CorrectedEvent);
      else if (line.startsWith('id:')) last = Number(line.slice(3));
    }
  } catch (err) {
    if (stop.signal.aborted) return;
    if (err instanceof UsageError || err instanceof RuntimeFailure) throw err;
    // The connection broke mid-stream: where to resume matters more than the stack.
    cut = ` (${(err as Error).message})`;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
  if (stop.signal.aborted) return;
  const where = last === null ? '' : ` after seq ${last} (--from-seq ${last + 1} resumes there)`;
  throw new RuntimeFailure(`events --follow: the daemon ended the stream${where}${cut}; is it stopping?`);
}
