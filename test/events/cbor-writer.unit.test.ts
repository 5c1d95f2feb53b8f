// Property tests of the hand-written CBOR writer (src/events/cbor-writer.ts) against cbor-x,
// the codec that reads the store back (src/events/codec.ts). For JSON-shaped values and
// whole events: what the writer writes decodes with cbor-x to the value; where the two
// encode alike, the bytes are cbor-x's to the byte; where they differ on purpose, the
// writer's rule is asserted instead, and the comment says why. fast-check runs from a fixed
// seed, like the fuzz test (EDGEBUS_FUZZ_SEED changes it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { CborWriter } from '../../src/events/cbor-writer.js';
import { CODEC_OPTIONS, decodeEvent, decodeValue, encodeValue } from '../../src/events/codec.js';
import { CLOCK_QUALITIES, EVENT_TYPES, PRIORITIES, type EdgeEvent, type JsonObject, type JsonValue } from '../../src/events/types.js';

const SEED = Number(process.env.EDGEBUS_FUZZ_SEED ?? 20261126);
const run = (numRuns: number) => ({ seed: SEED, numRuns });

/**
 * cbor-x with the codec's options and variableMapSize, the one option that differs. With
 * the codec's options alone cbor-x gives every object a 3-byte head (0xb9 and a 16-bit
 * count): it reserves the room before it knows the count. The writer counts first and
 * writes the shortest head (RFC 8949 §4.2.1, preferred serialization), which is what
 * variableMapSize makes cbor-x write too. ("Map heads" below checks the difference.)
 */
const preferred = new Encoder({ ...CODEC_OPTIONS, variableMapSize: true });

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The writer's bytes for one write, from a writer small enough to grow while writing. */
function written(write: (w: CborWriter) => void, initialSize = 8): Uint8Array {
  const w = new CborWriter(initialSize);
  write(w);
  return Uint8Array.from(w.since(0));
}
const writeValue = (v: JsonValue, initialSize?: number): Uint8Array => written((w) => w.value(v), initialSize);

/** -0 is written as the integer 0 by both, as JSON.stringify writes it: compare with 0. */
function withoutNegativeZero<T>(v: T): T {
  if (Object.is(v, -0)) return 0 as T;
  if (Array.isArray(v)) return v.map(withoutNegativeZero) as T;
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutNegativeZero(x)])) as T;
  return v;
}

/**
 * Where the writer and cbor-x pick the same encoding for a number. cbor-x writes integers
 * as CBOR integers only within 32 bits, and every other number as a float64. The writer
 * writes every safe integer as a CBOR integer (64-bit heads past 2^32: the codec's
 * int64AsNumber reads them back as numbers), and a non-integer as a float32 where that is
 * exact (5 bytes instead of 9, the same number back).
 */
function encodedAlike(n: number): boolean {
  if (Number.isSafeInteger(n)) return n >= -(2 ** 32) && n < 2 ** 32;
  return Math.fround(n) !== n;
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -(2 ** 32), max: 2 ** 32 - 1 }),
  fc.integer({ min: -30, max: 300 }),
  fc.maxSafeInteger(),
  finite,
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  finite.map((d) => Math.round(d * 100) / 100), // readings as devices send them: 21.37
);
const alikeNumber = anyNumber.filter(encodedAlike);

/** Text as payloads carry it: ASCII (the writer's byte-copy path), any Unicode, and past 255 characters (its Buffer.write path). */
const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ minLength: 230, maxLength: 300 }),
);
// normalize() refuses a "__proto__" key (hostile-input.unit.test.ts); cbor-x would read it
// back as "__proto_", its guard against prototype pollution.
const key = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 })).filter((k) => k !== '__proto__');

function json(numbers: fc.Arbitrary<number>): fc.Arbitrary<JsonValue> {
  const leaf = fc.oneof(fc.constant(null), fc.boolean(), numbers, text);
  return fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
    ),
  })).value;
}
const jsonObject = (numbers: fc.Arbitrary<number>): fc.Arbitrary<JsonObject> =>
  fc.dictionary(key, json(numbers), { maxKeys: 6, noNullPrototype: true });

/** Objects and arrays of 24 and 256 entries and more: heads of two and three bytes. */
const wide = (numbers: fc.Arbitrary<number>): fc.Arbitrary<JsonValue> => fc.oneof(
  fc.array(fc.oneof(numbers, text), { minLength: 20, maxLength: 300 }),
  fc.dictionary(key, fc.oneof(numbers, fc.constant(null)), { minKeys: 20, maxKeys: 300, noNullPrototype: true }),
);

describe('CborWriter against cbor-x: JSON-shaped values', () => {
  it('what it writes decodes with cbor-x to the value, whatever the numbers and text', () => {
    fc.assert(fc.property(fc.oneof(json(anyNumber), wide(anyNumber)), fc.integer({ min: 1, max: 64 }), (v, size) => {
      const bytes = writeValue(v, size);
      assert.deepStrictEqual(decodeValue(bytes), withoutNegativeZero(v));
      assert.deepStrictEqual(decodeValue(bytes), decodeValue(encodeValue(v)), 'read back like cbor-x\'s own encoding');
    }), run(1_000));
  });

  it('where both encode alike, the bytes are cbor-x\'s to the byte', () => {
    fc.assert(fc.property(fc.oneof(json(alikeNumber), wide(alikeNumber)), (v) => {
      assert.equal(hex(writeValue(v)), hex(preferred.encode(v)));
    }), run(1_000));
  });

  it('without objects, the bytes are those of the codec\'s own encoder, options unchanged', () => {
    const noObjects = fc.letrec<{ value: JsonValue }>((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), alikeNumber, text, fc.array(tie('value'), { maxLength: 5 })),
    })).value;
    fc.assert(fc.property(noObjects, (v) => {
      assert.equal(hex(writeValue(v)), hex(encodeValue(v)));
    }), run(500));
  });

  it('map heads: the codec\'s encoder writes 0xb9 and a 16-bit count for every object, the writer the shortest head', () => {
    // The only difference with the codec's own options; both read back alike (above).
    fc.assert(fc.property(fc.dictionary(key, alikeNumber, { maxKeys: 300, noNullPrototype: true }), (obj) => {
      const n = Object.keys(obj).length;
      const mine = writeValue(obj);
      const codec = encodeValue(obj);
      assert.equal(hex(codec.subarray(0, 3)), 'b9' + n.toString(16).padStart(4, '0'));
      const head = n < 24 ? (0xa0 + n).toString(16) : n < 256 ? 'b8' + n.toString(16).padStart(2, '0') : 'b9' + n.toString(16).padStart(4, '0');
      assert.equal(hex(mine.subarray(0, head.length / 2)), head);
      assert.equal(hex(mine.subarray(head.length / 2)), hex(codec.subarray(3)), 'the entries after the head are the same bytes');
    }), run(300));
  });
});

describe('CborWriter against cbor-x: numbers', () => {
  it('a safe integer is a CBOR integer with the shortest head; cbor-x agrees within 32 bits and writes a float64 past them', () => {
    fc.assert(fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -(2 ** 33), max: 2 ** 33 })), (n) => {
      const bytes = writeValue(n);
      const magnitude = n >= 0 ? n : -1 - n;
      assert.equal(bytes[0] >> 5, n >= 0 ? 0 : 1, 'major type 0 (unsigned) or 1 (negative)');
      assert.equal(bytes.length, magnitude < 24 ? 1 : magnitude < 2 ** 8 ? 2 : magnitude < 2 ** 16 ? 3 : magnitude < 2 ** 32 ? 5 : 9);
      assert.equal(decodeValue(bytes), n === 0 ? 0 : n);
      const theirs = encodeValue(n);
      if (encodedAlike(n)) assert.equal(hex(bytes), hex(theirs));
      else assert.equal(hex(theirs), 'fb' + hex(f64(n)), 'cbor-x: a float64');
    }), run(2_000));
  });

  it('any other number is a float32 where that is exact, else a float64; cbor-x always writes a float64', () => {
    fc.assert(fc.property(fc.oneof(finite, fc.float({ noNaN: true, noDefaultInfinity: true })).filter((d) => !Number.isSafeInteger(d)), (d) => {
      const bytes = writeValue(d);
      if (Math.fround(d) === d) assert.equal(hex(bytes), 'fa' + hex(f32(d)));
      else assert.equal(hex(bytes), 'fb' + hex(f64(d)));
      assert.equal(hex(encodeValue(d)), 'fb' + hex(f64(d)));
      assert.equal(decodeValue(bytes), d, 'the same number back, float32 or not');
    }), run(2_000));
  });
});

describe('CborWriter against cbor-x: text', () => {
  it('well-formed text is cbor-x\'s bytes, at every length and in every script', () => {
    fc.assert(fc.property(fc.oneof(text, fc.string({ unit: 'binary', minLength: 60, maxLength: 400 })), (s) => {
      assert.equal(hex(writeValue(s)), hex(encodeValue(s)));
    }), run(2_000));
  });

  it('an unpaired surrogate is written as U+FFFD (valid UTF-8); cbor-x writes its 3 bytes (not UTF-8)', () => {
    // normalize() refuses unpaired surrogates (hostile-input.unit.test.ts), so the writer
    // never sees one from a device; RFC 8949 §3.1 requires UTF-8, which strict decoders
    // (not cbor-x) enforce, so the writer's replacement is the safer of the two.
    const lone = fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ unit: 'binary', maxLength: 10 }))
      .map(([a, c, b]) => a + String.fromCharCode(c) + b);
    fc.assert(fc.property(lone, (s) => {
      const wellFormed = Buffer.from(s, 'utf8').toString('utf8');
      assert.ok(wellFormed.includes('\ufffd'));
      assert.equal(hex(writeValue(s)), hex(encodeValue(wellFormed)));
      assert.equal(decodeValue(writeValue(s)), wellFormed);
      assert.notEqual(hex(encodeValue(s)), hex(writeValue(s)));
    }), run(500));
  });
});

/** 4 or 8 big-endian bytes of a float. */
function f32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeFloatBE(n);
  return b;
}
function f64(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
}

/** A map's entries without the undefined ones: CborWriter.map leaves them out. */
function defined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** The event as SPEC §3 lays it out and the writer writes it: the contract's fields in stored order, absent ones left out. */
function contract(e: EdgeEvent): JsonObject {
  const out: JsonObject = { id: e.id, type: e.type, source: e.source, timestamp: e.timestamp, seq: e.seq, payload: defined(e.payload) };
  if (e.sensor !== undefined) {
    const s = e.sensor;
    out.sensor = { type: s.type, value: s.value, unit: s.unit, accuracy: s.accuracy, timestamp: s.timestamp };
  }
  if (e.device !== undefined) out.device = defined(e.device);
  if (e.location !== undefined) out.location = defined(e.location) as unknown as JsonObject;
  if (e.network !== undefined) out.network = defined(e.network);
  const m = e.metadata;
  const metadata: JsonObject = { correlationId: m.correlationId, causationId: m.causationId, version: m.version, priority: m.priority, ttl: m.ttl };
  if (m.clock !== undefined) metadata.clock = m.clock;
  if (m.receivedAt !== undefined) metadata.receivedAt = m.receivedAt;
  out.metadata = metadata;
  return out;
}

const isoTime = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());

/**
 * Events as the appender hands them over: every optional field absent, present or (with
 * `holes`) set to undefined; metadata on the writer's precomputed path (no ids, no ttl,
 * normal or high) and off it; the sensor's timestamp the event's or its own; and fields
 * outside the contract (a draft's) that the writer must leave out.
 */
function events(numbers: fc.Arbitrary<number>, seq: fc.Arbitrary<number>): fc.Arbitrary<EdgeEvent> {
  const short = fc.oneof(fc.string({ maxLength: 26 }), fc.string({ unit: 'binary', maxLength: 12 }));
  const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
  const metadata = fc.record({
    correlationId: fc.oneof(fc.constant(null), short),
    causationId: fc.oneof(fc.constant(null), short),
    version: fc.oneof(fc.constant('1'), short),
    priority: fc.constantFrom(...PRIORITIES),
    ttl: fc.oneof(fc.constant(null), numbers),
    clock: fc.constantFrom(...CLOCK_QUALITIES),
    receivedAt: isoTime,
  }, { requiredKeys: ['correlationId', 'causationId', 'version', 'priority', 'ttl'] });
  const event = fc.record({
    id: short,
    type: fc.constantFrom(...EVENT_TYPES),
    source: short,
    timestamp: isoTime,
    seq,
    payload: jsonObject(numbers),
    sensor: fc.record({ type: short, value: json(numbers), unit: orNull(short), accuracy: orNull(numbers), timestamp: isoTime }),
    device: fc.tuple(short, jsonObject(numbers)).map(([id, rest]) => ({ ...rest, id })),
    location: fc.record({ lat: numbers, lon: numbers, alt: orNull(numbers) }, { requiredKeys: ['lat', 'lon'] }),
    network: fc.dictionary(key, fc.oneof(short, numbers, fc.boolean(), fc.constant(null)), { maxKeys: 4, noNullPrototype: true }),
    metadata,
  }, { requiredKeys: ['id', 'type', 'source', 'timestamp', 'seq', 'payload', 'metadata'] });
  const draftFields = fc.record({ deviceSeq: orNull(fc.nat()), explicitId: fc.boolean(), receivedAt: fc.nat(), publisherTime: orNull(fc.nat()) }, { requiredKeys: [] });
  return fc.tuple(event, fc.boolean(), fc.boolean(), draftFields).map(([e, sameTime, holes, draft]) => {
    const out = { ...e, ...draft, metadata: { ...e.metadata } } as EdgeEvent;
    if (out.sensor && sameTime) out.sensor = { ...out.sensor, timestamp: out.timestamp };
    if (holes) {
      for (const k of ['sensor', 'device', 'location', 'network'] as const) if (!(k in out)) out[k] = undefined;
      if (!('clock' in out.metadata)) out.metadata.clock = undefined;
      if (!('receivedAt' in out.metadata)) out.metadata.receivedAt = undefined;
    }
    return out;
  });
}

describe('CborWriter against cbor-x: whole events', () => {
  it('an event decodes to its contract fields, in the stored order, whatever else the object carries', () => {
    fc.assert(fc.property(events(anyNumber, fc.oneof(fc.integer({ min: 1, max: 2 ** 32 }), fc.maxSafeNat())), (e) => {
      const decoded = decodeEvent(written((w) => w.event(e)));
      const expected = withoutNegativeZero(contract(e));
      assert.deepStrictEqual(decoded, expected);
      assert.equal(JSON.stringify(decoded), JSON.stringify(expected), 'the same fields in the same order');
    }), run(1_000));
  });

  it('where the numbers encode alike, an event is cbor-x\'s bytes for its contract fields', () => {
    // The precomputed metadata blocks and the copied sensor timestamp included.
    fc.assert(fc.property(events(alikeNumber, fc.integer({ min: 1, max: 2 ** 32 - 1 })), (e) => {
      assert.equal(hex(written((w) => w.event(e))), hex(preferred.encode(contract(e))));
    }), run(1_000));
  });

  it('events written one after another into one growing buffer are each what they are alone', () => {
    fc.assert(fc.property(fc.array(events(anyNumber, fc.nat()), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 256 }), (list, size) => {
      const w = new CborWriter(size);
      const starts: number[] = [];
      for (const e of list) {
        starts.push(w.pos);
        w.event(e);
      }
      const all = w.since(0);
      list.forEach((e, i) => {
        const own = all.subarray(starts[i], i + 1 < list.length ? starts[i + 1] : all.length);
        assert.equal(hex(own), hex(written((x) => x.event(e))), `event ${i} of ${list.length}`);
      });
      w.reset();
      w.event(list[0]);
      assert.equal(hex(w.since(0)), hex(written((x) => x.event(list[0]))), 'after reset() the buffer is written from the start');
    }), run(300));
  });
});
