// Hostile payloads straight into normalize(): each is refused with its reason and a detail
// that says what was wrong, or accepted on purpose (the case says why). Nothing may throw
// out of normalize, the fast reading scanner and the general JSON.parse path must agree on
// every case, and whatever is accepted must survive the store's encoding unchanged.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CborWriter } from '../../src/events/cbor-writer.js';
import { decodeEvent } from '../../src/events/codec.js';
import type { EdgeEvent, EventDraft } from '../../src/events/types.js';
import { MAX_DEPTH, normalize, type Normalized } from '../../src/ingest/normalize.js';
import type { RejectReason } from '../../src/store/rejected.js';
import { route } from '../helpers/drafts.js';

const RECEIVED = Date.parse('2026-11-26T01:02:03.456Z');
const TEMP = 'sensors/hostile-1/temperature';
const STATUS = 'devices/hostile-1/status';

type Expect =
  | { reason: RejectReason; detail: RegExp }
  /** Accepted on purpose: `why` says so; `check` looks at the draft. */
  | { ok: true; why: string; check?: (d: EventDraft) => void };

interface Case {
  name: string;
  payload: string | Buffer;
  /** TEMP (a DeviceData mapping, where the scanner runs) unless given. */
  topic?: string;
  expect: Expect;
}

const bytes = (p: string | Buffer): Buffer => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8'));
const nest = (open: string, inner: string, close: string, levels: number): string => open.repeat(levels) + inner + close.repeat(levels);

/** normalize() on both paths: neither may throw, and they must give the same answer. */
function normalizeBoth(topic: string, payload: Buffer): Normalized {
  const match = route(topic);
  const run = (scanner: boolean): Normalized => {
    try {
      return normalize(match, payload, RECEIVED, { scanner });
    } catch (err) {
      assert.fail(`normalize threw out (scanner ${scanner}): ${(err as Error).name}: ${(err as Error).message}`);
    }
  };
  const fast = run(true);
  const general = run(false);
  assert.deepEqual(fast, general, 'the fast scanner and the general path disagree');
  return fast;
}

/** The event as the appender writes it and a reader decodes it. */
function storedAs(d: EventDraft): EdgeEvent {
  const writer = new CborWriter();
  writer.event({ ...d, id: d.id ?? 'gateway-made', seq: 1 } as EdgeEvent);
  return decodeEvent(writer.since(0));
}

function runCases(cases: readonly Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      const n = normalizeBoth(c.topic ?? TEMP, bytes(c.payload));
      if ('reason' in c.expect) {
        assert.equal(n.ok, false, `expected ${c.expect.reason}, but it was accepted`);
        const { reason, detail } = (n as Extract<Normalized, { ok: false }>).rejection;
        assert.equal(reason, c.expect.reason, `detail: ${detail}`);
        assert.match(detail, c.expect.detail);
        assert.ok(detail.length <= 200, `a detail is for people, not a copy of the payload (${detail.length} chars)`);
        return;
      }
      assert.ok(n.ok, `expected it accepted (${c.expect.why}), got ${!n.ok && `${n.rejection.reason}: ${n.rejection.detail}`}`);
      const d = n.draft;
      assert.equal(Object.getPrototypeOf(d.payload), Object.prototype, 'the payload is a plain object');
      const stored = storedAs(d);
      assert.deepEqual(stored.payload, d.payload, 'the payload is stored unchanged');
      assert.equal(stored.timestamp, d.timestamp);
      assert.match(stored.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      c.expect.check?.(d);
    });
  }
}

describe('deep nesting is refused with a reason, never a RangeError', () => {
  runCases([
    // A 64 kB payload (broker.maxPayload) holds 32,000 levels of [] or 6,400 of {"a":…}.
    { name: '10k levels of [ left open (a bare reading that is not a number)', payload: '['.repeat(10_000), expect: { reason: 'invalid-value', detail: /a number or a JSON object, got "\[\[\[/ } },
    { name: '10k levels of [ left open on a status topic', topic: STATUS, payload: '['.repeat(10_000), expect: { reason: 'invalid-status', detail: /online, offline or a JSON object/ } },
    { name: '10k levels of {"a": left open', payload: '{"a":'.repeat(10_000), expect: { reason: 'malformed-json', detail: /JSON/ } },
    { name: '32k levels of [ left open inside a reading (64 kB)', payload: `{"value":1,"x":${'['.repeat(31_980)}`, expect: { reason: 'malformed-json', detail: /JSON/ } },
    { name: '10k levels of [] closed inside a reading', payload: `{"value":1,"x":${nest('[', '', ']', 10_000)}}`, expect: { reason: 'invalid-payload', detail: /^x\[0\]\[0\].*nests objects and arrays deeper than 32 levels$/ } },
    { name: '10k levels of {"a": closed inside a reading (60 kB)', payload: `{"value":1,"x":${nest('{"a":', '1', '}', 10_000)}}`, expect: { reason: 'invalid-payload', detail: /^x\.a\.a\.a.*deeper than 32 levels$/ } },
    { name: '10k levels closed inside a status object', topic: STATUS, payload: `{"state":"online","x":${nest('[', '', ']', 10_000)}}`, expect: { reason: 'invalid-payload', detail: /deeper than 32 levels/ } },
    { name: '10k levels as the reading value itself', payload: `{"value":${nest('[', '1', ']', 10_000)}}`, expect: { reason: 'invalid-payload', detail: /^value\[0\].*deeper than 32 levels/ } },
    // Past broker.maxPayload: the broker refuses these first (payload-too-large), but
    // normalize() alone (the serial path, a redrive) must refuse them just as calmly.
    { name: '100k levels of [] closed (200 kB)', payload: `{"value":1,"x":${nest('[', '', ']', 100_000)}}`, expect: { reason: 'invalid-payload', detail: /deeper than 32 levels/ } },
    { name: '100k levels of {"a": closed (600 kB)', payload: `{"value":1,"x":${nest('{"a":', '1', '}', 100_000)}}`, expect: { reason: 'invalid-payload', detail: /deeper than 32 levels/ } },
    { name: '100k levels of [ left open', payload: `{"value":1,"x":${'['.repeat(100_000)}`, expect: { reason: 'malformed-json', detail: /JSON/ } },
    { name: `${MAX_DEPTH} levels in all is the most accepted`, payload: `{"value":1,"x":${nest('[', '7', ']', MAX_DEPTH - 1)}}`, expect: { ok: true, why: 'real payloads nest a few levels; the limit leaves room' } },
    { name: `${MAX_DEPTH + 1} levels is one too many`, payload: `{"value":1,"x":${nest('[', '7', ']', MAX_DEPTH)}}`, expect: { reason: 'invalid-payload', detail: /deeper than 32 levels/ } },
  ]);
});

describe('numbers past what a double or a seq holds', () => {
  runCases([
    { name: 'value 1e400 (Infinity once parsed)', payload: '{"value":1e400}', expect: { reason: 'invalid-value', detail: /^value is not a finite number/ } },
    { name: 'value -1e400', payload: '{"value":-1e400,"unit":"C"}', expect: { reason: 'invalid-value', detail: /^value is not a finite number/ } },
    { name: 'a bare 1e400', payload: '1e400', expect: { reason: 'invalid-value', detail: /got "1e400"/ } },
    // Before the fix these were accepted: the event held Infinity, which JSON prints as null.
    { name: '1e400 in another field of a reading', payload: '{"value":1,"extra":{"deep":[0,1e400]}}', expect: { reason: 'invalid-value', detail: /^extra\.deep\[1\] is not a finite number/ } },
    { name: '1e400 in a status object', topic: STATUS, payload: '{"state":"online","uptime":1e400}', expect: { reason: 'invalid-value', detail: /^uptime is not a finite number/ } },
    { name: 'ts 1e400', payload: '{"value":1,"ts":1e400}', expect: { reason: 'invalid-value', detail: /^ts is not a finite number/ } },
    { name: 'seq 2^53 + 1 (JSON.parse rounds it to 2^53)', payload: '{"value":1,"seq":9007199254740993}', expect: { reason: 'invalid-seq', detail: /integer from 0 to 2\^53-1, got 9007199254740992/ } },
    { name: 'seq 1e20', payload: '{"value":1,"seq":1e20}', expect: { reason: 'invalid-seq', detail: /got 100000000000000000000/ } },
    { name: 'seq 2^53 - 1 is the largest taken', payload: '{"value":1,"seq":9007199254740991}', expect: { ok: true, why: 'a safe integer', check: (d) => assert.equal(d.deviceSeq, Number.MAX_SAFE_INTEGER) } },
    { name: 'a value past 2^53 is a reading, rounded to a double', payload: '{"value":12345678901234567890}', expect: { ok: true, why: 'readings are doubles; only seq must be exact', check: (d) => assert.equal(d.sensor?.value, 12345678901234567890) } },
    { name: 'value 1e-400 underflows to 0', payload: '{"value":1e-400}', expect: { ok: true, why: 'finite: JSON.parse rounds it to the nearest double', check: (d) => assert.equal(d.sensor?.value, 0) } },
    { name: 'value 1.7976931348623157e308 (the largest double)', payload: '{"value":1.7976931348623157e308}', expect: { ok: true, why: 'finite', check: (d) => assert.equal(d.sensor?.value, Number.MAX_VALUE) } },
  ]);
});

describe('__proto__, constructor and prototype keys', () => {
  runCases([
    { name: '__proto__ at the top', payload: '{"value":1,"__proto__":{"polluted":true}}', expect: { reason: 'invalid-payload', detail: /^the payload has a key "__proto__"/ } },
    { name: '__proto__ nested', payload: '{"value":1,"x":{"y":{"__proto__":{"polluted":true}}}}', expect: { reason: 'invalid-payload', detail: /^x\.y has a key "__proto__"/ } },
    { name: '__proto__ inside an array', payload: '{"value":1,"x":[{"__proto__":{"polluted":true}}]}', expect: { reason: 'invalid-payload', detail: /^x\[0\] has a key "__proto__"/ } },
    { name: '__proto__ spelt with escapes', payload: '{"value":1,"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}', expect: { reason: 'invalid-payload', detail: /"__proto__"/ } },
    { name: '__proto__ in a status object', topic: STATUS, payload: '{"state":"online","__proto__":{"polluted":true}}', expect: { reason: 'invalid-payload', detail: /"__proto__"/ } },
    {
      name: 'constructor.prototype is only data', payload: '{"value":1,"constructor":{"prototype":{"polluted":true}}}',
      expect: {
        ok: true, why: 'JSON.parse makes own data keys; nothing merges them into a prototype',
        check: (d) => assert.deepEqual(Object.getOwnPropertyDescriptor(d.payload, 'constructor')?.value, { prototype: { polluted: true } }),
      },
    },
    { name: 'prototype is only data', payload: '{"value":1,"prototype":{"polluted":true}}', expect: { ok: true, why: 'an ordinary key name' } },
    { name: 'constructor on the fast path', payload: '{"value":1,"constructor":1,"toString":"x","hasOwnProperty":2}', expect: { ok: true, why: 'ordinary key names', check: (d) => assert.deepEqual(Object.keys(d.payload), ['value', 'constructor', 'toString', 'hasOwnProperty']) } },
    { name: 'constructor in a status object', topic: STATUS, payload: '{"state":"online","constructor":{"prototype":{"polluted":true}}}', expect: { ok: true, why: 'ordinary key names' } },
  ]);

  after(() => {
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype was polluted');
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    assert.equal(([] as unknown as { polluted?: unknown }).polluted, undefined);
  });
});

describe('wrong types in every envelope field', () => {
  runCases([
    { name: 'value an object', payload: '{"value":{"a":1}}', expect: { reason: 'invalid-value', detail: /value must be a finite number, a string or a boolean, got \{"a":1\}/ } },
    { name: 'value an array', payload: '{"value":[1,2]}', expect: { reason: 'invalid-value', detail: /got \[1,2\]/ } },
    { name: 'value a boolean', payload: '{"value":true}', expect: { ok: true, why: 'a reading may be a boolean (a door contact)', check: (d) => assert.equal(d.sensor?.value, true) } },
    { name: 'value a string', payload: '{"value":"open"}', expect: { ok: true, why: 'a reading may be a string (a state)' } },
    { name: 'value null', payload: '{"value":null}', expect: { ok: true, why: 'a sensor may report that it has no reading', check: (d) => assert.equal(d.sensor?.value, null) } },

    { name: 'ts a boolean', payload: '{"value":1,"ts":true}', expect: { reason: 'invalid-timestamp', detail: /got true$/ } },
    { name: 'ts an object', payload: '{"value":1,"ts":{"s":1}}', expect: { reason: 'invalid-timestamp', detail: /got \{"s":1\}$/ } },
    { name: 'ts negative', payload: '{"value":1,"ts":-1}', expect: { reason: 'invalid-timestamp', detail: /got -1$/ } },
    { name: 'ts "NaN"', payload: '{"value":1,"ts":"NaN"}', expect: { reason: 'invalid-timestamp', detail: /got "NaN"$/ } },
    { name: 'ts in the year 300000 (ISO)', payload: '{"value":1,"ts":"+300000-01-01T00:00:00.000Z"}', expect: { reason: 'invalid-timestamp', detail: /from 1970 to 9999, got "\+300000/ } },
    { name: 'ts in the year 300000 (epoch ms)', payload: '{"value":1,"ts":9400000000000000}', expect: { reason: 'invalid-timestamp', detail: /got 9400000000000000$/ } },
    // Before the fix Date.parse read these as 2001-01-01 and 2022-03-01.
    { name: 'ts "1"', payload: '{"value":1,"ts":"1"}', expect: { reason: 'invalid-timestamp', detail: /ISO 8601.*got "1"$/ } },
    { name: 'ts an RFC 2822 date', payload: '{"value":1,"ts":"Tue, 01 Mar 2022 00:00:00 GMT"}', expect: { reason: 'invalid-timestamp', detail: /got "Tue, 01 Mar/ } },
    { name: 'ts a 60 kB string', payload: JSON.stringify({ value: 1, ts: '2'.repeat(60_000) }), expect: { reason: 'invalid-timestamp', detail: /got "2222.*…$/ } },
    // Before the fix a fractional ts made the timestamp "1970-01-01T00:00:00.undefinedZ".
    { name: 'ts with a fraction of a millisecond', payload: '{"value":1,"ts":1.5}', expect: { ok: true, why: 'epoch ms as a float (Python time.time()*1000) truncates, as Date does', check: (d) => assert.equal(d.timestamp, '1970-01-01T00:00:00.001Z') } },
    { name: 'ts a float from Python', payload: '{"value":1,"ts":1764118923456.789}', expect: { ok: true, why: 'as above', check: (d) => assert.equal(d.timestamp, '2025-11-26T01:02:03.456Z') } },

    { name: 'seq -1', payload: '{"value":1,"seq":-1}', expect: { reason: 'invalid-seq', detail: /got -1$/ } },
    { name: 'seq 1.5', payload: '{"value":1,"seq":1.5}', expect: { reason: 'invalid-seq', detail: /got 1\.5$/ } },
    { name: 'seq "3"', payload: '{"value":1,"seq":"3"}', expect: { reason: 'invalid-seq', detail: /got "3"$/ } },
    { name: 'seq null', payload: '{"value":1,"seq":null}', expect: { reason: 'invalid-seq', detail: /got null$/ } },

    { name: 'id a number', payload: '{"value":1,"id":42}', expect: { reason: 'invalid-id', detail: /must be a non-empty string.*got 42$/ } },
    { name: 'id empty', payload: '{"value":1,"id":""}', expect: { reason: 'invalid-id', detail: /non-empty.*got 0 characters$/ } },
    { name: 'id of 257 characters', payload: JSON.stringify({ value: 1, id: 'x'.repeat(257) }), expect: { reason: 'invalid-id', detail: /at most 256 characters, got 257 characters$/ } },
    { name: 'id of 60 kB', payload: JSON.stringify({ value: 1, id: 'x'.repeat(60_000) }), expect: { reason: 'invalid-id', detail: /got 60000 characters$/ } },
    { name: 'id with NUL', payload: '{"value":1,"id":"a\\u0000b"}', expect: { reason: 'invalid-id', detail: /U\+0000/ } },
    { name: 'id with an unpaired surrogate', payload: '{"value":1,"id":"dev-\\ud800"}', expect: { reason: 'invalid-payload', detail: /^id is not well-formed Unicode/ } },
    { name: 'id of 256 characters', payload: JSON.stringify({ value: 1, id: 'x'.repeat(256) }), expect: { ok: true, why: 'the limit itself', check: (d) => assert.equal(d.id?.length, 256) } },
    { name: 'id with an emoji (a surrogate pair)', payload: '{"value":1,"id":"\\ud83c\\udf21-1"}', expect: { ok: true, why: 'well-formed Unicode', check: (d) => assert.equal(d.id, '🌡-1') } },

    { name: 'priority unknown', payload: '{"value":1,"priority":"urgent"}', expect: { reason: 'invalid-payload', detail: /priority must be low, normal, high or critical, got "urgent"/ } },
    { name: 'priority in capitals', payload: '{"value":1,"priority":"HIGH"}', expect: { reason: 'invalid-payload', detail: /got "HIGH"/ } },
    { name: 'priority a number', payload: '{"value":1,"priority":3}', expect: { reason: 'invalid-payload', detail: /got 3$/ } },
    { name: 'ttl negative', payload: '{"value":1,"ttl":-5}', expect: { reason: 'invalid-payload', detail: /ttl must be a positive number of seconds or a duration, got -5/ } },
    { name: 'ttl garbage', payload: '{"value":1,"ttl":"soon"}', expect: { reason: 'invalid-payload', detail: /ttl.*got "soon"/ } },
    { name: 'ttl a boolean', payload: '{"value":1,"ttl":true}', expect: { reason: 'invalid-payload', detail: /ttl.*got true/ } },

    { name: 'location lat past 90', payload: '{"value":1,"location":{"lat":91,"lon":0}}', expect: { reason: 'invalid-payload', detail: /location must be \{lat, lon\[, alt\]\}.*got \{"lat":91,"lon":0\}/ } },
    { name: 'location lon past 180', payload: '{"value":1,"location":{"lat":0,"lon":-180.5}}', expect: { reason: 'invalid-payload', detail: /location/ } },
    { name: 'location lat a string', payload: '{"value":1,"location":{"lat":"52.5","lon":13.4}}', expect: { reason: 'invalid-payload', detail: /location/ } },
    { name: 'location without lon', payload: '{"value":1,"location":{"lat":52.5}}', expect: { reason: 'invalid-payload', detail: /location/ } },
    { name: 'location an array', payload: '{"value":1,"location":[52.5,13.4]}', expect: { reason: 'invalid-payload', detail: /got \[52\.5,13\.4\]/ } },
    // Before the fix a non-numeric alt was dropped without a word.
    { name: 'location alt a string', payload: '{"value":1,"location":{"lat":52.5,"lon":13.4,"alt":"high"}}', expect: { reason: 'invalid-payload', detail: /alt in metres/ } },
    { name: 'location lat 1e400', payload: '{"value":1,"location":{"lat":1e400,"lon":0}}', expect: { reason: 'invalid-value', detail: /^location\.lat is not a finite number/ } },

    { name: 'accuracy a string', payload: '{"value":1,"accuracy":"0.5"}', expect: { reason: 'invalid-payload', detail: /accuracy must be a number, got "0\.5"/ } },
    // Before the fix only readings checked accuracy: a status dropped a bad one silently.
    { name: 'accuracy a string on a status', topic: STATUS, payload: '{"state":"online","accuracy":"0.5"}', expect: { reason: 'invalid-payload', detail: /accuracy must be a number/ } },
    { name: 'unit a number', payload: '{"value":1,"unit":5}', expect: { reason: 'invalid-payload', detail: /unit must be a string, got 5/ } },
    { name: 'correlationId an object', payload: '{"value":1,"correlationId":{"a":1}}', expect: { reason: 'invalid-payload', detail: /correlationId must be a string of at most 256 characters, got \{"a":1\}/ } },
    // A chain id is part of a correlation-index key: bounded as ids are.
    { name: 'correlationId of 257 characters', payload: `{"value":1,"correlationId":"${'c'.repeat(257)}"}`, expect: { reason: 'invalid-payload', detail: /correlationId must be a string of at most 256 characters, got 257 characters/ } },
    { name: 'causationId of 257 characters', payload: `{"value":1,"causationId":"${'c'.repeat(257)}"}`, expect: { reason: 'invalid-payload', detail: /causationId must be a string of at most 256 characters, got 257 characters/ } },
    { name: 'network an array', payload: '{"value":1,"network":[1]}', expect: { reason: 'invalid-payload', detail: /network must be an object of scalar values/ } },
    { name: 'state a number', topic: STATUS, payload: '{"state":1}', expect: { reason: 'invalid-status', detail: /state must be a string/ } },
  ]);
});

describe('bytes that are not JSON text', () => {
  runCases([
    { name: 'invalid UTF-8 in a string', payload: Buffer.from([...Buffer.from('{"value":"'), 0xff, ...Buffer.from('"}')]), expect: { reason: 'invalid-utf8', detail: /not valid UTF-8/ } },
    { name: 'an overlong UTF-8 encoding of "/"', payload: Buffer.from([...Buffer.from('{"unit":"'), 0xc0, 0xaf, ...Buffer.from('","value":1}')]), expect: { reason: 'invalid-utf8', detail: /UTF-8/ } },
    { name: 'a surrogate encoded as UTF-8 (CESU)', payload: Buffer.from([...Buffer.from('{"value":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), expect: { reason: 'invalid-utf8', detail: /UTF-8/ } },
    { name: 'UTF-8 cut off mid-character', payload: Buffer.from([...Buffer.from('21.5'), 0xe2, 0x82]), expect: { reason: 'invalid-utf8', detail: /UTF-8/ } },
    { name: 'binary garbage', payload: Buffer.from([0x00, 0x9c, 0xff, 0x7b, 0x13, 0x80, 0xfe, 0x22, 0x01]), expect: { reason: 'invalid-utf8', detail: /UTF-8/ } },
    { name: 'binary garbage on a status topic', topic: STATUS, payload: Buffer.from([0xde, 0xad, 0xbe, 0xef]), expect: { reason: 'invalid-utf8', detail: /UTF-8/ } },
    { name: 'CBOR instead of JSON', payload: Buffer.from([0xa1, 0x65, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x01]), expect: { reason: 'invalid-utf8', detail: /UTF-8/ } },
    { name: 'control characters (valid UTF-8)', payload: Buffer.from([0x00, 0x01, 0x02, 0x1b]), expect: { reason: 'invalid-value', detail: /expected a number or a JSON object, got "\\u0000/ } },
    { name: 'an unpaired surrogate escape in a value', payload: '{"value":"\\ud800"}', expect: { reason: 'invalid-payload', detail: /^value is not well-formed Unicode/ } },
    { name: 'an unpaired surrogate escape in a key', payload: '{"value":1,"x":{"\\udc00":1}}', expect: { reason: 'invalid-payload', detail: /^x has a key that is not well-formed Unicode/ } },
    { name: 'a surrogate pair escape', payload: '{"value":"\\ud83c\\udf21"}', expect: { ok: true, why: 'well-formed Unicode', check: (d) => assert.equal(d.sensor?.value, '🌡') } },
    // RFC 8259 §8.1 lets a parser ignore a byte order mark, and some tools (.NET, Notepad)
    // write one. Before the fix a reading with one was malformed-json but a status was not.
    { name: 'BOM before a JSON reading', payload: '\ufeff{"value":21.5,"unit":"C"}', expect: { ok: true, why: 'a BOM is ignored', check: (d) => assert.deepEqual(d.payload, { value: 21.5, unit: 'C' }) } },
    { name: 'BOM before a bare number', payload: '\ufeff21.5', expect: { ok: true, why: 'a BOM is ignored', check: (d) => assert.deepEqual(d.payload, { value: 21.5 }) } },
    { name: 'BOM before a status object', topic: STATUS, payload: '\ufeff{"state":"online"}', expect: { ok: true, why: 'a BOM is ignored' } },
    { name: 'a BOM and nothing else', payload: '\ufeff', expect: { reason: 'empty-payload', detail: /empty/ } },
    { name: 'NaN in JSON', payload: '{"value":NaN}', expect: { reason: 'malformed-json', detail: /not valid JSON/ } },
    { name: 'Infinity in JSON', payload: '{"value":Infinity}', expect: { reason: 'malformed-json', detail: /not valid JSON/ } },
    { name: '-Infinity in JSON', payload: '{"value":-Infinity}', expect: { reason: 'malformed-json', detail: /JSON/ } },
    { name: 'a bare NaN', payload: 'NaN', expect: { reason: 'invalid-value', detail: /got "NaN"/ } },
    { name: 'a bare -Infinity', payload: '-Infinity', expect: { reason: 'invalid-value', detail: /got "-Infinity"/ } },
    { name: 'a bare hex number', payload: '0x10', expect: { reason: 'invalid-value', detail: /got "0x10"/ } },
    // RFC 8259 leaves repeated names to the parser: JSON.parse keeps the last, and the
    // scanner hands such payloads to the general path, so both agree.
    { name: 'a repeated value key', payload: '{"value":1,"value":2}', expect: { ok: true, why: 'the last one wins', check: (d) => assert.equal(d.sensor?.value, 2) } },
    { name: 'a repeated id', payload: '{"id":"a","value":1,"id":"b"}', expect: { ok: true, why: 'the last one wins', check: (d) => assert.equal(d.id, 'b') } },
    { name: 'a bad seq repeated by a good one', payload: '{"seq":-1,"value":1,"seq":2}', expect: { ok: true, why: 'the last one wins; the first is never seen', check: (d) => assert.equal(d.deviceSeq, 2) } },
    { name: 'an empty payload', payload: '', expect: { reason: 'empty-payload', detail: /the payload is empty/ } },
    { name: 'an empty payload on a status topic', topic: STATUS, payload: '', expect: { reason: 'empty-payload', detail: /empty/ } },
    { name: 'whitespace only', payload: ' \t\r\n ', expect: { reason: 'invalid-value', detail: /a number or a JSON object/ } },
    { name: 'whitespace only on a status topic', topic: STATUS, payload: ' \t\r\n ', expect: { reason: 'invalid-status', detail: /online, offline or a JSON object, got ""/ } },
    { name: 'a bare number with trailing junk', payload: '21.5abc', expect: { reason: 'invalid-value', detail: /got "21\.5abc"/ } },
    { name: 'two bare numbers', payload: '21.5 22', expect: { reason: 'invalid-value', detail: /got "21\.5 22"/ } },
    { name: 'a bare number and a newline', payload: '21.5\n', expect: { ok: true, why: 'a trailing newline (echo, mosquitto_pub -l) is whitespace', check: (d) => assert.deepEqual(d.payload, { value: 21.5 }) } },
    { name: 'a JSON object with trailing junk', payload: '{"value":1} x', expect: { reason: 'malformed-json', detail: /after JSON/ } },
    { name: 'a long string in a reading, near the size limit', payload: JSON.stringify({ value: 1, note: 'x'.repeat(63_000) }), expect: { ok: true, why: 'within broker.maxPayload; the broker enforces the size' } },
  ]);
});
