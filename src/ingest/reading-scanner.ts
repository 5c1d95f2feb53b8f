// The canonical reading, {"value":21.5,"unit":"C","seq":17,"ts":1795659011789}, read
// straight from its bytes: no string of the whole payload, no intermediate object, no
// JSON.parse. It accepts a strict subset of JSON — one flat object of scalar values, ASCII
// strings without escapes, plain numbers — and gives up (returns null) on anything else,
// which then takes the general path. What it accepts it reads as JSON.parse would, and
// it builds the payload the general path would build: every key but the envelope's, in
// the publisher's order.

type Scalar = number | string | boolean | null;

export interface ScannedReading {
  /** Bit per key present: see KEY. */
  present: number;
  /** The reading without its envelope keys (seq, ts, id, accuracy). */
  payload: { [key: string]: Scalar };
  value: Scalar;
  unit: string | null;
  seq: number;
  ts: number | string;
  id: string;
  accuracy: number | null;
}

export const KEY = { value: 1, unit: 2, seq: 4, ts: 8, id: 16, accuracy: 32 } as const;

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Envelope keys the general path validates; a payload with one of them goes there. */
const GENERAL_ONLY = new Set(['priority', 'ttl', 'correlationId', 'causationId', 'location', 'network', 'version', '__proto__']);

const out: ScannedReading = { present: 0, payload: {}, value: null, unit: null, seq: 0, ts: 0, id: '', accuracy: null };

let b: Uint8Array = new Uint8Array(0);
let p = 0;
let end = 0;

// The loops below read the module's cursor into locals and write it back once: a module
// variable lives in a context slot, and a store to it per byte cost more than the test.
function ws(): void {
  const buf = b;
  let i = p;
  while (i < end) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  p = i;
}

/** A string's bytes are [start, p-1); returns start, or -1 if it is not plain ASCII. */
function str(): number {
  if (b[p] !== 0x22) return -1;
  const buf = b;
  const stop = end;
  const start = p + 1;
  for (let i = start; i < stop; i++) {
    const c = buf[i];
    if (c === 0x22) {
      p = i + 1;
      return start;
    }
    if (c === 0x5c || c < 0x20 || c >= 0x80) return -1; // escapes, controls, non-ASCII: general path
  }
  return -1;
}

function latin1(start: number, stop: number): string {
  return Buffer.prototype.latin1Slice.call(b, start, stop) as string;
}

/** A JSON number; NaN if the text is not one this scanner reads exactly. */
function num(): number {
  const start = p;
  let neg = false;
  if (b[p] === 0x2d) {
    neg = true;
    p++;
  }
  let mant = 0;
  let digits = 0;
  let frac = 0;
  const first = b[p];
  if (first === 0x30) {
    p++;
  } else if (first >= 0x31 && first <= 0x39) {
    while (p < end && b[p] >= 0x30 && b[p] <= 0x39) {
      mant = mant * 10 + (b[p++] - 0x30);
      digits++;
    }
  } else return NaN;
  if (b[p] === 0x2e) {
    p++;
    const fstart = p;
    while (p < end && b[p] >= 0x30 && b[p] <= 0x39) {
      mant = mant * 10 + (b[p++] - 0x30);
      digits++;
    }
    frac = p - fstart;
    if (frac === 0) return NaN;
  }
  if (b[p] === 0x65 || b[p] === 0x45 || digits > 15) {
    // Exponents and long mantissas: let the engine round them.
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      const estart = p;
      while (p < end && b[p] >= 0x30 && b[p] <= 0x39) p++;
      if (p === estart) return NaN;
    }
    const n = Number(latin1(start, p));
    return Number.isFinite(n) ? n : NaN; // 1e999: the general path rejects it with its reason
  }
  // Up to 15 digits and a power of ten up to 22: one correctly rounded division.
  const v = frac === 0 ? mant : mant / POW10[frac];
  return neg ? -v : v;
}

function literal(text: readonly number[]): boolean {
  for (let i = 0; i < text.length; i++) if (b[p + i] !== text[i]) return false;
  p += text.length;
  return true;
}
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

const NAMES: [number, number[]][] = (Object.entries(KEY) as [string, number][]).map(([name, bit]) => [bit, [...name].map((ch) => ch.charCodeAt(0))]);

function keyBit(start: number, len: number): number {
  for (const [bit, name] of NAMES) {
    if (name.length !== len) continue;
    let i = 0;
    while (i < len && b[start + i] === name[i]) i++;
    if (i === len) return bit;
  }
  return 0;
}

/** Reads one scalar value: a number, an ASCII string, true, false or null. */
function scalar(): Scalar | undefined {
  const c = b[p];
  if (c === 0x22) {
    const s = str();
    return s < 0 ? undefined : latin1(s, p - 1);
  }
  if (c === 0x74) return literal(TRUE) ? true : undefined;
  if (c === 0x66) return literal(FALSE) ? false : undefined;
  if (c === 0x6e) return literal(NULL) ? null : undefined;
  const n = num();
  return Number.isNaN(n) ? undefined : n;
}

/** The reading in `bytes`, or null when it is not of the canonical shape. */
export function scanReading(bytes: Uint8Array): ScannedReading | null {
  b = bytes;
  p = 0;
  end = bytes.length;
  out.present = 0;
  const payload: { [key: string]: Scalar } = {};
  out.payload = payload;
  ws();
  if (b[p++] !== 0x7b) return null;
  ws();
  if (b[p] === 0x7d) return null; // {} carries no reading: the general path explains why
  for (;;) {
    const k = str();
    if (k < 0) return null;
    const keyEnd = p - 1;
    const bit = keyBit(k, keyEnd - k);
    if ((out.present & bit) !== 0) return null; // a repeated key: JSON.parse keeps the last
    ws();
    if (b[p++] !== 0x3a) return null;
    ws();
    const v = scalar();
    if (v === undefined) return null;
    switch (bit) {
      case 0: {
        const name = latin1(k, keyEnd);
        if (GENERAL_ONLY.has(name) || Object.hasOwn(payload, name)) return null;
        payload[name] = v;
        break;
      }
      case KEY.value: out.value = v; payload.value = v; break;
      case KEY.unit: if (typeof v !== 'string' && v !== null) return null; out.unit = v; payload.unit = v; break;
      case KEY.seq: if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return null; out.seq = v; break;
      case KEY.ts: if (typeof v !== 'number' && typeof v !== 'string') return null; out.ts = v; break;
      case KEY.id: if (typeof v !== 'string' || v.length === 0 || v.length > 256) return null; out.id = v; break;
      case KEY.accuracy: if (typeof v !== 'number' && v !== null) return null; out.accuracy = v; break;
    }
    out.present |= bit;
    ws();
    const c = b[p++];
    if (c === 0x2c) {
      ws();
      continue;
    }
    if (c !== 0x7d) return null;
    ws();
    return p === end ? out : null;
  }
}
