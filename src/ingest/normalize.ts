// Turns one MQTT payload into an event draft, or into the reason it was rejected.
// Normalize and validate are one pass: the payload is read once.
import { isUtf8 } from 'node:buffer';
import { parseDuration } from '../config/units.js';
import { defaultMetadata, isPriority, type EventDraft, type JsonObject, type JsonValue, type Location, type NetworkInfo } from '../events/types.js';
import type { Rejection } from '../store/rejected.js';
import { isoTime } from '../events/iso-time.js';
import { KEY, scanReading, type ScannedReading } from './reading-scanner.js';
import type { TopicMatch } from './topics.js';

const MAX_ID_LENGTH = 256;
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** Year 10000: beyond it Date cannot print an ISO string. */
const MAX_TIME = 253_402_300_800_000;
/** Keys that describe the event rather than the reading: they leave the payload. */
const ENVELOPE = new Set(['id', 'ts', 'seq', 'priority', 'ttl', 'correlationId', 'causationId', 'location', 'network', 'accuracy']);

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

function parseTimestamp(ts: unknown): number | null {
  let ms: number;
  if (typeof ts === 'number') ms = ts;
  else if (typeof ts === 'string') ms = Date.parse(ts);
  else return null;
  return Number.isFinite(ms) && ms >= 0 && ms < MAX_TIME ? ms : null;
}

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Reads the envelope fields shared by every JSON payload into the draft. */
function applyEnvelope(obj: Record<string, unknown>, draft: EventDraft): void {
  if (obj.id !== undefined) {
    const id = obj.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || id.includes('\x00')) {
      reject('invalid-id', `id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    draft.id = id;
    draft.explicitId = true;
  }
  if (obj.seq !== undefined) {
    const seq = obj.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) reject('invalid-seq', `seq must be a non-negative integer, got ${JSON.stringify(seq)}`);
    draft.deviceSeq = seq;
  }
  if (obj.ts !== undefined) {
    const ms = parseTimestamp(obj.ts);
    if (ms === null) reject('invalid-timestamp', `ts must be an ISO time or epoch milliseconds, got ${JSON.stringify(obj.ts)}`);
    draft.timestamp = isoTime(ms);
  }
  // Most payloads carry no metadata: the draft shares a frozen default until one does.
  let meta = draft.metadata;
  const own = () => {
    if (Object.isFrozen(meta)) meta = draft.metadata = { ...meta };
    return meta;
  };
  if (obj.priority !== undefined) {
    if (!isPriority(obj.priority)) reject('invalid-payload', `priority must be low, normal, high or critical, got ${JSON.stringify(obj.priority)}`);
    own().priority = obj.priority;
  }
  if (obj.ttl !== undefined && obj.ttl !== null) {
    const ttl = obj.ttl;
    let seconds: number;
    try {
      seconds = typeof ttl === 'number' ? ttl : typeof ttl === 'string' ? parseDuration(ttl) / 1000 : NaN;
    } catch {
      seconds = NaN;
    }
    if (!(seconds > 0) || !Number.isFinite(seconds)) reject('invalid-payload', `ttl must be a positive number of seconds or a duration, got ${JSON.stringify(ttl)}`);
    own().ttl = seconds;
  }
  for (const key of ['correlationId', 'causationId'] as const) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') reject('invalid-payload', `${key} must be a string`);
    own()[key] = v;
  }
  if (obj.location !== undefined && obj.location !== null) {
    const loc = obj.location as Partial<Location>;
    if (typeof loc !== 'object' || typeof loc.lat !== 'number' || typeof loc.lon !== 'number' || Math.abs(loc.lat) > 90 || Math.abs(loc.lon) > 180) {
      reject('invalid-payload', 'location must be {lat, lon[, alt]} in degrees');
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
}

/** The payload without its envelope keys. */
function readingOf(obj: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const key in obj) {
    if (ENVELOPE.has(key)) continue;
    if (key === '__proto__') reject('invalid-payload', 'key "__proto__" is not allowed');
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
  return parsed as Record<string, unknown>;
}

/**
 * @param opts.scanner false forces the general path for readings (the tests prove the
 * two paths give the same event).
 */
export function normalize(match: TopicMatch, payload: Buffer, receivedAt: number, opts?: { scanner?: boolean }): Normalized {
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
  };
  try {
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
  } catch (err) {
    if (err instanceof Rejected) return { ok: false, rejection: err.rejection };
    throw err;
  }
  return { ok: true, draft };
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
    if (ms === null) reject('invalid-timestamp', `ts must be an ISO time or epoch milliseconds, got ${JSON.stringify(r.ts)}`);
    draft.timestamp = isoTime(ms);
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
    if (!isScalar(value)) reject('invalid-value', `value must be a finite number, a string or a boolean, got ${JSON.stringify(obj.value)?.slice(0, 40)}`);
    if (obj.unit !== undefined && obj.unit !== null) {
      if (typeof obj.unit !== 'string') reject('invalid-payload', 'unit must be a string');
      unit = obj.unit;
    }
    if (obj.accuracy !== undefined && obj.accuracy !== null) {
      if (typeof obj.accuracy !== 'number' || !Number.isFinite(obj.accuracy)) reject('invalid-payload', 'accuracy must be a number');
      accuracy = obj.accuracy;
    }
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
