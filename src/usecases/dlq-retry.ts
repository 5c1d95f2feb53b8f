// `edgebus dlq retry` (SPEC §1): sends dead-lettered entries through the gateway again.
// A payload ingest rejected goes back through normalize (a fixed mapping or a corrected
// device may make it valid now); an event upstream refused is offered to upstream again.
// An entry leaves the DLQ only when it got through; otherwise it stays, with the new reason.
import type { EdgeEvent } from '../events/types.js';
import { normalize } from '../ingest/normalize.js';
import type { PayloadSchemas } from '../ingest/payload-schemas.js';
import type { TopicRouter } from '../ingest/topics.js';
import type { EventStore } from '../store/event-store.js';
import { deleteRejected, getRejected, listRejected, purgeRejected, writeRejected, type RejectedRecord } from '../store/rejected.js';
import type { Gateway } from './gateway.js';
import type { Appender } from '../pipeline/appender.js';

export interface RedriveOptions {
  store: EventStore;
  router: TopicRouter;
  appender: Appender;
  /** The payload schemas a payload is checked against again; absent: none. */
  schemas?: PayloadSchemas | null;
  /** Offers one event to upstream again; null when the gateway is store-only. */
  resendUpstream: ((event: EdgeEvent) => Promise<{ ok: true } | { ok: false; reason: string }>) | null;
}

export interface RedriveOutcome {
  id: string;
  ok: boolean;
  /** What happened: appended as seq N, forwarded, or why it stays. */
  detail: string;
}

export async function redrive(opts: RedriveOptions, ids: readonly string[] | null): Promise<RedriveOutcome[]> {
  const records: (RejectedRecord | undefined)[] = ids === null ? await listRejected(opts.store) : await getRejected(opts.store, ids);
  const out: RedriveOutcome[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record === undefined) {
      out.push({ id: ids![i], ok: false, detail: 'no such entry' });
      continue;
    }
    const outcome = record.reason === 'upstream-refused' ? await toUpstream(opts, record) : await toPipeline(opts, record);
    if (outcome.ok) await deleteRejected(opts.store, record.id);
    else await writeRejected(opts.store, { ...record, detail: outcome.detail });
    out.push(outcome);
  }
  return out;
}

async function toPipeline(opts: RedriveOptions, record: RejectedRecord): Promise<RedriveOutcome> {
  const match = opts.router.match(record.topic);
  if (match === null) return { id: record.id, ok: false, detail: `no ingest mapping matches ${record.topic} any more` };
  const result = normalize(match, Buffer.from(record.payload, 'base64'), opts.appender.clock.now(), { schemas: opts.schemas });
  if (!result.ok) return { id: record.id, ok: false, detail: `${result.rejection.reason}: ${result.rejection.detail}` };
  const stored = await opts.appender.append(result.draft);
  return { id: record.id, ok: true, detail: stored ? 'appended to the log' : 'already in the log (duplicate id)' };
}

async function toUpstream(opts: RedriveOptions, record: RejectedRecord): Promise<RedriveOutcome> {
  if (opts.resendUpstream === null) return { id: record.id, ok: false, detail: 'no upstream is configured' };
  const event = JSON.parse(Buffer.from(record.payload, 'base64').toString()) as EdgeEvent;
  const result = await opts.resendUpstream(event);
  return result.ok ? { id: record.id, ok: true, detail: 'forwarded upstream' } : { id: record.id, ok: false, detail: result.reason };
}

/** `edgebus dlq retry [ID…]` through the running gateway: what got through leaves the count. */
export async function retryDeadLetters(g: Gateway, ids: readonly string[] | null): Promise<RedriveOutcome[]> {
  const up = g.upstream;
  const results = await redrive({
    store: g.store, router: g.router, appender: g.appender, schemas: g.schemas.size ? g.schemas : null,
    resendUpstream: up ? (event) => up.forwarder.resender.resend(event) : null,
  }, ids);
  g.deadLetters.removed(results.filter((r) => r.ok).length);
  return results;
}

/** `edgebus dlq purge [ID…]`. */
export async function purgeDeadLetters(g: Gateway, ids: readonly string[] | null): Promise<number> {
  const n = await purgeRejected(g.store, ids);
  g.deadLetters.removed(n);
  return n;
}
