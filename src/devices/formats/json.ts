// json: one object per frame. With fields, each reads its dot path (default: its name);
// without, every top-level number, boolean and string is a reading named by its key. A
// top-level `ts` is the frame's time; `id` and `seq` identify the message, not a reading.
import { FrameError, type DecodedFrame, type DecodedReading, type FieldSpec, type FrameDecoder } from '../types.js';
import { checkFrameKey, frameText, makeReading, quote } from './common.js';

const NOT_READINGS = new Set(['ts', 'id', 'seq']);
// Read only through Object.hasOwn, but refused outright: a key like these must never reach
// code downstream that assigns sensor names onto objects.
const RESERVED = ['__proto__', 'constructor', 'prototype'];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;
// Below this, an epoch-ms time is before 1973: almost surely seconds, or time since boot.
const MIN_EPOCH_MS = 1e11;

type JsonObject = Record<string, unknown>;

export function createJsonDecoder(fields: readonly FieldSpec[]): FrameDecoder {
  const paths = fields.map((f) => (f.path ?? f.name).split('.'));
  return (frame) => {
    const obj = parseObject(frame);
    const out: DecodedFrame = { readings: [] };
    if (Object.hasOwn(obj, 'ts')) out.timestamp = timeOf(obj.ts);
    if (fields.length === 0) {
      for (const key of Object.keys(obj)) {
        const v = obj[key];
        if (NOT_READINGS.has(key) || !isScalar(v)) continue;
        out.readings.push(makeReading('json', checkFrameKey('json', key), v, null));
      }
    } else {
      for (let i = 0; i < fields.length; i++) out.readings.push(fieldReading(obj, fields[i], paths[i]));
    }
    return out;
  };
}

function parseObject(frame: Buffer): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(frameText(frame, 'json'));
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError(`json: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FrameError(`json: expected an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  }
  for (const key of RESERVED) {
    if (Object.hasOwn(v, key)) throw new FrameError(`json: key ${quote(key)} is not allowed`);
  }
  return v as JsonObject;
}

function fieldReading(obj: JsonObject, field: FieldSpec, path: readonly string[]): DecodedReading {
  let v: unknown = obj;
  for (const k of path) {
    v = typeof v === 'object' && v !== null && Object.hasOwn(v, k) ? (v as JsonObject)[k] : undefined;
    if (v === undefined) break;
  }
  const where = field.path !== null ? ` (path ${field.path})` : '';
  if (v === undefined || v === null) throw new FrameError(`json: missing field "${field.name}"${where}`);
  if (!isScalar(v)) {
    throw new FrameError(`json: field "${field.name}"${where} is ${Array.isArray(v) ? 'an array' : 'an object'}, not a value`);
  }
  return makeReading('json', field.name, v, field);
}

function isScalar(v: unknown): v is number | string | boolean {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}

/** `ts`: an ISO time with its offset, or epoch milliseconds. */
function timeOf(ts: unknown): number {
  if (typeof ts === 'number' && Number.isFinite(ts)) {
    if (ts < MIN_EPOCH_MS) throw new FrameError(`json: ts ${ts} is not epoch milliseconds (seconds, or time since boot?)`);
    return ts;
  }
  if (typeof ts === 'string' && ISO_TIME.test(ts)) {
    const ms = Date.parse(ts);
    if (Number.isFinite(ms)) return ms;
  }
  const shown = typeof ts === 'string' ? quote(ts) : `(${ts === null ? 'null' : typeof ts})`;
  throw new FrameError(`json: ts ${shown} is not an ISO time with offset, or epoch milliseconds`);
}
