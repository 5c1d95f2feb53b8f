// What a batch must hold to be trusted (README "Batch format"): a version this reader
// knows, the envelope's fields, every event with the fields of SPEC §3, and seqs strictly
// increasing. Problems are returned, not thrown, so a consumer can record all of them with
// the batch; `assertBatch` is the throwing form.
import { EVENT_TYPES, PRIORITIES } from '../events/types.js';
import { describe } from './decode.js';
import { KNOWN_BATCH_VERSIONS } from './format.js';
import type { Batch, BatchProblem } from './types.js';

/** A garbage batch of a million events is reported by its first problems, not all of them. */
const MAX_PROBLEMS = 20;

export class BatchInvalidError extends Error {
  override readonly name = 'BatchInvalidError';
  constructor(readonly problems: readonly BatchProblem[]) {
    super(`invalid batch: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
}

type Fields = Record<string, unknown>;

const isMap = (v: unknown): v is Fields => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
const isTime = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const eventTypes: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const priorities: ReadonlySet<unknown> = new Set(PRIORITIES);

/** Everything wrong with `batch` (at most 20 problems); empty when it can be trusted. */
export function verifyBatch(batch: unknown): BatchProblem[] {
  const problems: BatchProblem[] = [];
  const bad = (path: string, message: string): boolean => problems.push({ path, message }) >= MAX_PROBLEMS;
  if (!isMap(batch)) {
    bad('', `a batch is a map, got ${describe(batch)}`);
    return problems;
  }
  if (!KNOWN_BATCH_VERSIONS.includes(batch.version as number)) {
    // Nothing else can be judged in a format this reader does not know.
    bad('version', `expected one of ${KNOWN_BATCH_VERSIONS.join(', ')}, got ${describe(batch.version)}`);
    return problems;
  }
  if (typeof batch.gatewayId !== 'string' || batch.gatewayId === '') bad('gatewayId', `expected a non-empty string, got ${describe(batch.gatewayId)}`);
  if (!isCount(batch.batch)) bad('batch', `expected a non-negative integer, got ${describe(batch.batch)}`);
  if (!Array.isArray(batch.events)) {
    bad('events', `expected an array, got ${describe(batch.events)}`);
    return problems;
  }
  let previous = -1;
  for (let i = 0; i < batch.events.length; i++) {
    const e: unknown = batch.events[i];
    const at = `events[${i}]`;
    if (!isMap(e)) {
      if (bad(at, `expected an event map, got ${describe(e)}`)) break;
      continue;
    }
    if (verifyEvent(e, at, bad)) break;
    if (isCount(e.seq)) {
      if (e.seq <= previous && bad(`${at}.seq`, `seqs must increase within a batch: ${e.seq} after ${previous}`)) break;
      previous = e.seq;
    }
  }
  return problems;
}

/** Reports each missing or mistyped field; true once the problem list is full. */
function verifyEvent(e: Fields, at: string, bad: (path: string, message: string) => boolean): boolean {
  const expect = (ok: boolean, field: string, what: string, value: unknown): boolean => !ok && bad(`${at}.${field}`, `expected ${what}, got ${describe(value)}`);
  if (expect(typeof e.id === 'string' && e.id !== '', 'id', 'a non-empty string', e.id)) return true;
  if (expect(eventTypes.has(e.type), 'type', `one of ${EVENT_TYPES.join(', ')}`, e.type)) return true;
  if (expect(typeof e.source === 'string', 'source', 'a string', e.source)) return true;
  if (expect(isTime(e.timestamp), 'timestamp', 'an ISO time', e.timestamp)) return true;
  if (expect(isCount(e.seq), 'seq', 'a non-negative integer', e.seq)) return true;
  if (expect(e.version === undefined || (isCount(e.version) && e.version > 0), 'version', 'a positive integer', e.version)) return true;
  if (expect(isMap(e.payload), 'payload', 'a map', e.payload)) return true;
  if (expect(e.correctedTimestamp === undefined || isTime(e.correctedTimestamp), 'correctedTimestamp', 'an ISO time', e.correctedTimestamp)) return true;
  for (const optional of ['sensor', 'device', 'location', 'network'] as const) {
    if (expect(e[optional] === undefined || isMap(e[optional]), optional, 'a map', e[optional])) return true;
  }
  const m = e.metadata;
  if (!isMap(m)) return expect(false, 'metadata', 'a map', m);
  const nullableText = (v: unknown) => v === null || typeof v === 'string';
  return expect(nullableText(m.correlationId), 'metadata.correlationId', 'a string or null', m.correlationId)
    || expect(nullableText(m.causationId), 'metadata.causationId', 'a string or null', m.causationId)
    || expect(typeof m.version === 'string', 'metadata.version', 'a string', m.version)
    || expect(priorities.has(m.priority), 'metadata.priority', `one of ${PRIORITIES.join(', ')}`, m.priority)
    || expect(m.ttl === null || typeof m.ttl === 'number', 'metadata.ttl', 'a number or null', m.ttl);
}

/** `verifyBatch` that throws BatchInvalidError, narrowing `batch` for the caller. */
export function assertBatch(batch: unknown): asserts batch is Batch {
  const problems = verifyBatch(batch);
  if (problems.length > 0) throw new BatchInvalidError(problems);
}
