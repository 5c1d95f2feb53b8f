// Turns one MQTT payload into an event draft, or into the reason it was rejected.
// Normalize and validate are one pass: the payload is read once (a general-path payload
// is parsed, then its tree walked once for what JSON.parse lets through: see faultIn).
import { isUtf8 } from 'node:buffer';
import { parseDuration } from '../config/units.js';
import { defaultMetadata, isPriority, type EventDraft, type JsonObject, type JsonValue, type Location, type NetworkInfo } from '../events/types.js';
import type { Rejection } from '../store/rejected.js';
import { isoTime } from '../events/iso-time.js';
import { KEY, scanReading, type ScannedReading } from './reading-scanner.js';
import type { PayloadSchemas } from './payload-schemas.js';
import type { TopicMatch } from './topics.js';

const MAX_ID_LENGTH = 256;
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** Year 10000: beyond it Date cannot print an ISO string. */
const MAX_TIME = 253_402_300_800_000;
/** An ISO 8601 date or date-time: Date.parse alone also reads "1" as 2001 and "Tue Mar 1". */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** An unpaired UTF-16 surrogate: stored as UTF-8 it would become U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** A \uD800–\uDFFF escape: only JSON text with one can hold an unpaired surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/**
 * Objects and arrays nested deeper than this are refused: the store's CBOR writer and
 * readers recurse, and a few thousand levels (a 64 kB payload holds 32,000) overflow the
 * stack there, failing the whole commit group.
 */
export const MAX_DEPTH = 32;
/** Keys that describe the event rather than the reading: they leave the payload. */
const ENVELOPE = new Set(['id', 'ts', 'seq', 'priority', 'ttl', 'correlationId', 'causationId', 'location', 'network', 'accuracy']);
/**
 * A payload's schema version: a positive integer, given as a number or a string of digits.
 * Any other `version` (a firmware's "1.4.2" in a status) is the device's data and stays in
 * the payload.
 */
const VERSION = /^[1-9]\d{0,8}$/;

/**
 * The envelope's `version` of the payload being normalized, null when it gave none. Module
 * state rather than a draft field: normalize is synchronous and the draft keeps only
 * `metadata.version`, which cannot tell a declared "1" from the default one.
 */
let declaredVersion: string | null = null;

const NORMAL_METADATA = Object.freeze(defaultMetadata('normal'));
/** Every accepted draft gets its own payload; this one only stands in until then. */
const NO_PAYLOAD = Object.freeze({});
const ALERT_METADATA = Object.freeze(defaultMetadata('high'));

export type Normalized = { ok: true; draft: EventDraft } | { ok: false; rejection: Rejection };

/** Thrown inside this module only: a rejection is the exceptional path, not the hot one. */
class Rejected extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.detail);
  }
}

function reject(reason: Rejection['reason'], detail: string): never {
  throw new Rejected({ reason, detail });
}

/** A value as JSON for a rejection's detail, cut short: a detail is read by people. */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function parseTimestamp(ts: unknown): number | null {
  let ms: number;
  // Fractional epoch ms (Python's time.time() * 1000) truncate, as Date does.
  if (typeof ts === 'number') ms = Math.floor(ts);
  else if (typeof ts === 'string' && ISO_TIME.test(ts)) ms = Date.parse(ts);
  else return null;
  return Number.isFinite(ms) && ms >= 0 && ms < MAX_TIME ? ms : null;
}

const TIMESTAMP_HINT = 'ts must be an ISO 8601 time or epoch milliseconds, from 1970 to 9999';

/** Where a fault in a parsed payload is, and what it is; built only when there is one. */
interface Fault {
  reason: Rejection['reason'];
  what: string;
  /** Innermost key first: each level adds its own on the way out. */
  path: (string | number)[];
}

const NOT_UNICODE = 'is not well-formed Unicode (an unpaired surrogate escape): it cannot be stored as UTF-8';

/**
 * What JSON.parse lets through that an event must not hold: nesting past MAX_DEPTH, numbers
 * that overflowed to ±Infinity (1e400), "__proto__" keys at any level (cbor-x reads one
 * back as "__proto_") and, when `strings`, unpaired surrogates — each would make the
 * stored event differ from what was sent, or fail to store at all.
 */
function faultIn(v: unknown, depth: number, strings: boolean): Fault | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : { reason: 'invalid-value', what: 'is not a finite number (too large for a double)', path: [] };
  if (typeof v === 'string') return strings && LONE_SURROGATE.test(v) ? { reason: 'invalid-payload', what: NOT_UNICODE, path: [] } : null;
  if (typeof v !== 'object' || v === null) return null;
  if (depth > MAX_DEPTH) return { reason: 'invalid-payload', what: `nests objects and arrays deeper than ${MAX_DEPTH} levels`, path: [] };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = faultIn(v[i], depth + 1, strings);
      if (f) {
        f.path.push(i);
        return f;
      }
    }
    return null;
  }
  const obj = v as Record<string, unknown>;
  for (const key in obj) {
    if (key === '__proto__') return { reason: 'invalid-payload', what: 'has a key "__proto__", which is not allowed', path: [] };
    if (strings && LONE_SURROGATE.test(key)) return { reason: 'invalid-payload', what: `has a key that ${NOT_UNICODE}`, path: [] };
    const f = faultIn(obj[key], depth + 1, strings);
    if (f) {
      f.path.push(key);
      return f;
    }
  }
  return null;
}

function pathText(path: readonly (string | number)[]): string {
  let s = '';
  for (let i = path.length - 1; i >= 0; i--) {
    const k = path[i];
    s += typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `${s ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`;
  }
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

function checkTree(obj: Record<string, unknown>, text: string): void {
  const f = faultIn(obj, 1, SURROGATE_ESCAPE.test(text));
  if (f) reject(f.reason, `${f.path.length ? pathText(f.path) : 'the payload'} ${f.what}`);
}

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Reads the envelope fields shared by every JSON payload into the draft. */
function applyEnvelope(obj: Record<string, unknown>, draft: EventDraft): void {
  if (obj.id !== undefined) {
    const id = obj.id;
    const rule = `id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`;
    if (typeof id !== 'string') reject('invalid-id', `${rule}, got ${shown(id)}`);
    if (id.length === 0 || id.length > MAX_ID_LENGTH) reject('invalid-id', `${rule}, got ${id.length} characters`);
    if (id.includes('\x00')) reject('invalid-id', 'id must not contain U+0000');
    draft.id = id;
    draft.explicitId = true;
  }
  if (obj.seq !== undefined) {
    const seq = obj.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) reject('invalid-seq', `seq must be an integer from 0 to 2^53-1, got ${shown(seq)}`);
    draft.deviceSeq = seq;
  }
  if (obj.ts !== undefined) {
    const ms = parseTimestamp(obj.ts);
    if (ms === null) reject('invalid-timestamp', `${TIMESTAMP_HINT}, got ${shown(obj.ts)}`);
    draft.timestamp = isoTime(ms);
    draft.publisherTime = ms;
  }
  // Most payloads carry no metadata: the draft shares a frozen default until one does.
  let meta = draft.metadata;
  const own = () => {
    if (Object.isFrozen(meta)) meta = draft.metadata = { ...meta };
    return meta;
  };
  if (obj.priority !== undefined) {
    if (!isPriority(obj.priority)) reject('invalid-payload', `priority must be low, normal, high or critical, got ${shown(obj.priority)}`);
    own().priority = obj.priority;
  }
  const v = obj.version;
  const version = typeof v === 'number' ? String(v) : v;
  if (typeof version === 'string' && VERSION.test(version)) {
    declaredVersion = version;
    own().version = version;
  }
  if (obj.ttl !== undefined && obj.ttl !== null) {
    const ttl = obj.ttl;
    let seconds: number;
    try {
      seconds = typeof ttl === 'number' ? ttl : typeof ttl === 'string' ? parseDuration(ttl) / 1000 : NaN;
    } catch {
      seconds = NaN;
    }
    if (!(seconds > 0) || !Number.isFinite(seconds)) reject('invalid-payload', `ttl must be a positive number of seconds or a duration, got ${shown(ttl)}`);
    own().ttl = seconds;
  }
  for (const key of ['correlationId', 'causationId'] as const) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    // Bounded as ids are: a chain id becomes part of a correlation-index key (an empty one
    // names no chain and is not indexed).
    if (typeof v !== 'string' || v.length > MAX_ID_LENGTH) {
      reject('invalid-payload', `${key} must be a string of at most ${MAX_ID_LENGTH} characters, got ${typeof v === 'string' ? `${v.length} characters` : shown(v)}`);
    }
    own()[key] = v;
  }
  if (obj.location !== undefined && obj.location !== null) {
    const loc = obj.location as Partial<Location>;
    if (typeof loc !== 'object' || typeof loc.lat !== 'number' || typeof loc.lon !== 'number' || Math.abs(loc.lat) > 90 || Math.abs(loc.lon) > 180
      || (loc.alt !== undefined && loc.alt !== null && typeof loc.alt !== 'number')) {
      reject('invalid-payload', `location must be {lat, lon[, alt]}: lat and lon in degrees, alt in metres; got ${shown(loc)}`);
    }
    draft.location = { lat: loc.lat, lon: loc.lon, alt: typeof loc.alt === 'number' ? loc.alt : null };
  }
  if (obj.network !== undefined && obj.network !== null) {
    const net = obj.network;
    if (typeof net !== 'object' || Array.isArray(net) || !Object.values(net).every(isScalar)) {
      reject('invalid-payload', 'network must be an object of scalar values');
    }
    draft.network = net as NetworkInfo;
  }
  // Read into the sensor reading by DeviceData only, but checked on every type: an envelope
  // key leaves the payload, so a bad one would otherwise vanish without a word.
  if (obj.accuracy !== undefined && obj.accuracy !== null && typeof obj.accuracy !== 'number') {
    reject('invalid-payload', `accuracy must be a number, got ${shown(obj.accuracy)}`);
  }
}

/** The payload without its envelope keys. */
function readingOf(obj: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const key in obj) {
    if (ENVELOPE.has(key) || (key === 'version' && declaredVersion !== null)) continue;
    out[key] = obj[key] as JsonValue;
  }
  return out;
}

function parseJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    reject('malformed-json', (err as Error).message);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) reject('invalid-payload', 'expected a JSON object');
  checkTree(parsed as Record<string, unknown>, text);
  return parsed as Record<string, unknown>;
}

/**
 * @param receivedAt the gateway clock at receipt. Until the appender stamps it with the wall
 * clock, a draft without the publisher's `ts` carries that reading as its timestamp.
 * @param opts.scanner false forces the general path for readings (the tests prove the
 * two paths give the same event).
 * @param opts.schemas the payload schemas (see payload-schemas.ts); absent: none are checked.
 */
export function normalize(match: TopicMatch, payload: Buffer, receivedAt: number, opts?: { scanner?: boolean; schemas?: PayloadSchemas | null }): Normalized {
  const draft: EventDraft = {
    id: null,
    type: match.type,
    source: match.source,
    timestamp: isoTime(receivedAt),
    payload: NO_PAYLOAD,
    metadata: match.type === 'Alert' ? ALERT_METADATA : NORMAL_METADATA,
    deviceSeq: null,
    explicitId: false,
    receivedAt,
    publisherTime: null,
  };
  declaredVersion = null;
  try {
    // A UTF-8 byte order mark before the text is ignored, as RFC 8259 §8.1 allows.
    if (payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf) payload = payload.subarray(3);
    if (payload.length === 0) reject('empty-payload', 'the payload is empty');
    switch (match.type) {
      case 'DeviceData': {
        const scanned = opts?.scanner === false ? null : scanReading(payload);
        if (scanned) fromScanned(match, scanned, draft);
        else normalizeReading(match, payload, draft);
        break;
      }
      case 'DeviceStatus': normalizeStatus(match, utf8(payload), draft); break;
      default: normalizeObject(utf8(payload), draft);
    }
    const schemas = opts?.schemas;
    if (schemas) checkSchema(schemas, draft);
  } catch (err) {
    if (err instanceof Rejected) return { ok: false, rejection: err.rejection };
    throw err;
  }
  return { ok: true, draft };
}

/** The payload against its schema; the draft takes the version it passed as. */
function checkSchema(schemas: PayloadSchemas, draft: EventDraft): void {
  const verdict = schemas.check(draft.type, draft.sensor?.type ?? null, declaredVersion, draft.payload);
  if (verdict === null) return;
  if (typeof verdict !== 'string') throw new Rejected(verdict);
  if (draft.metadata.version === verdict) return;
  if (Object.isFrozen(draft.metadata)) draft.metadata = { ...draft.metadata, version: verdict };
  else draft.metadata.version = verdict;
}

function utf8(payload: Buffer): string {
  if (!isUtf8(payload)) reject('invalid-utf8', 'the payload is not valid UTF-8');
  return payload.toString('utf8');
}

/** The canonical reading (see reading-scanner.ts): the same event the general path makes. */
function fromScanned(match: TopicMatch, r: ScannedReading, draft: EventDraft): void {
  const has = r.present;
  if (has & KEY.id) {
    draft.id = r.id;
    draft.explicitId = true;
  }
  if (has & KEY.seq) draft.deviceSeq = r.seq;
  if (has & KEY.ts) {
    const ms = parseTimestamp(r.ts);
    if (ms === null) reject('invalid-timestamp', `${TIMESTAMP_HINT}, got ${shown(r.ts)}`);
    draft.timestamp = isoTime(ms);
    draft.publisherTime = ms;
  }
  const value = has & KEY.value ? r.value : null;
  const unit = has & KEY.unit ? r.unit : null;
  draft.payload = r.payload;
  draft.sensor = { type: match.sensor ?? 'value', value, unit, accuracy: has & KEY.accuracy ? r.accuracy : null, timestamp: draft.timestamp };
  draft.device = match.device;
}

function normalizeReading(match: TopicMatch, payload: Buffer, draft: EventDraft): void {
  const text = utf8(payload);
  const first = text.trimStart().charCodeAt(0);
  let value: JsonValue;
  let unit: string | null = null;
  let accuracy: number | null = null;
  if (first === 123 /* { */) {
    const obj = parseJsonObject(text);
    applyEnvelope(obj, draft);
    value = (obj.value ?? null) as JsonValue;
    if (!isScalar(value)) reject('invalid-value', `value must be a finite number, a string or a boolean, got ${shown(obj.value)}`);
    if (obj.unit !== undefined && obj.unit !== null) {
      if (typeof obj.unit !== 'string') reject('invalid-payload', `unit must be a string, got ${shown(obj.unit)}`);
      unit = obj.unit;
    }
    accuracy = (obj.accuracy ?? null) as number | null; // a finite number or null: applyEnvelope checked it
    draft.payload = readingOf(obj);
  } else {
    const trimmed = text.trim();
    const n = Number(trimmed);
    // Number() also reads "0x10", "0b1" and "" — a reading is a plain decimal.
    if (!DECIMAL.test(trimmed) || !Number.isFinite(n)) reject('invalid-value', `expected a number or a JSON object, got ${JSON.stringify(text.slice(0, 40))}`);
    value = n;
    draft.payload = { value: n };
  }
  draft.sensor = { type: match.sensor ?? 'value', value, unit, accuracy, timestamp: draft.timestamp };
  draft.device = match.device;
}

function normalizeStatus(match: TopicMatch, text: string, draft: EventDraft): void {
  const trimmed = text.trim();
  draft.device = match.device;
  if (trimmed === 'online' || trimmed === 'offline') {
    draft.payload = { state: trimmed };
    return;
  }
  if (trimmed.charCodeAt(0) !== 123) reject('invalid-status', `expected online, offline or a JSON object, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  const obj = parseJsonObject(trimmed);
  if (obj.state !== undefined && typeof obj.state !== 'string') reject('invalid-status', 'state must be a string');
  applyEnvelope(obj, draft);
  draft.payload = readingOf(obj);
}

function normalizeObject(text: string, draft: EventDraft): void {
  const obj = parseJsonObject(text);
  applyEnvelope(obj, draft);
  draft.payload = readingOf(obj);
}
