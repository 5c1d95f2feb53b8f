// What the frame decoders share: the UTF-8 check, strict number parsing, scale/add, and the
// check on sensor names that come out of a frame rather than out of the profile.
import { isUtf8 } from 'node:buffer';
import { FrameError, type DecodedReading, type FieldSpec } from '../types.js';

/** The frame as text; bytes that are not UTF-8 are a FrameError (the raw frame is kept). */
export function frameText(frame: Buffer, format: string): string {
  if (!isUtf8(frame)) throw new FrameError(`${format}: not valid UTF-8`);
  return frame.toString('utf8');
}

// Number() would also take "", " ", "0x1F", "Infinity" and "1_000"-like surprises as numbers.
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Decimal text (sign, fraction, exponent) as a number; anything else is undefined. */
export function parseNumber(text: string): number | undefined {
  return NUMERIC.test(text) ? Number(text) : undefined;
}

/**
 * A reading. Numbers get `value * scale + add` only when the field changes them, so exact
 * values stay exact; a non-finite result is an error. A field with scale or add promises a
 * number, so text or a boolean there is an error too. The unit is the field's, else
 * `defaultUnit`.
 */
export function makeReading(
  format: string,
  sensor: string,
  value: number | string | boolean,
  field: FieldSpec | null,
  defaultUnit: string | null = null,
): DecodedReading {
  const scaled = field !== null && (field.scale !== 1 || field.add !== 0);
  if (typeof value === 'number') {
    if (scaled) value = value * field.scale + field.add;
    if (!Number.isFinite(value)) throw new FrameError(`${format}: ${sensor} is not a finite number (${value})`);
  } else if (scaled) {
    throw new FrameError(`${format}: ${sensor} is ${quote(String(value))}, not a number (the field has scale/add)`);
  }
  return { sensor, value, unit: field?.unit ?? defaultUnit };
}

/** A reading from text: numeric text becomes a number, other text stays; empty is an error. */
export function textReading(format: string, sensor: string, text: string, field: FieldSpec | null): DecodedReading {
  if (text === '') throw new FrameError(`${format}: ${sensor} is empty`);
  return makeReading(format, sensor, parseNumber(text) ?? text, field);
}

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
// A sensor name becomes a topic level ("sensors/{device}/{sensor}") and an object key downstream.
const NOT_IN_NAMES = /[/+#\u0000-\u001f\u007f]/;

/** Throws unless a key the frame supplies (kv, json without fields) can name a sensor. */
export function checkFrameKey(format: string, key: string): string {
  if (key === '') throw new FrameError(`${format}: empty key`);
  if (RESERVED.has(key)) throw new FrameError(`${format}: key ${quote(key)} is not allowed`);
  if (NOT_IN_NAMES.test(key)) {
    throw new FrameError(`${format}: key ${quote(key)} cannot name a sensor (it has /, +, # or a control character)`);
  }
  return key;
}

/** Frame text for a message: quoted, and short (frames may be up to 64 KiB). */
export function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
