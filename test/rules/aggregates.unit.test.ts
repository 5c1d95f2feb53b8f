import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMetadata, type EdgeEvent, type JsonObject, type JsonValue } from '../../src/events/types.js';
import type { AggregateRef } from '../../src/rules/types.js';
import { AGGREGATE_FNS, compileHaving, computeAggregates, HAVING_OPERATORS, parseAggregate } from '../../src/rules/aggregates.js';
import { throwsAt } from '../helpers/rule-errors.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

let nextSeq = 1;
/** A reading `value` at T0 + `atMs`, with extra payload fields. */
function reading(value: JsonValue, atMs = 0, payload: JsonObject = {}): EdgeEvent {
  const seq = nextSeq++;
  return {
    id: `gh-1:0:${seq}`,
    type: 'DeviceData',
    source: 'gh-1',
    timestamp: iso(T0 + atMs),
    seq,
    payload: { value, ...payload },
    sensor: { type: 'temperature', value, unit: 'C', accuracy: null, timestamp: iso(T0 + atMs) },
    metadata: defaultMetadata(),
  };
}

const timeOf = (e: EdgeEvent) => Date.parse(e.timestamp);
const refs = (...keys: string[]): AggregateRef[] => keys.map((k) => parseAggregate(k, ['having', k]));
const compute = (keys: string[], events: EdgeEvent[]) => computeAggregates(refs(...keys), events, timeOf);

const ALL_FIELD = ['sum(value)', 'avg(value)', 'min(value)', 'max(value)', 'stddev(value)', 'first(value)', 'last(value)', 'delta(value)', 'rate(value)', 'distinct(value)'];


describe('parseAggregate', () => {
  test('count, with or without parentheses', () => {
    assert.deepEqual(parseAggregate('count', ['h']), { key: 'count', fn: 'count', field: null });
    assert.deepEqual(parseAggregate('count()', ['h']), { key: 'count()', fn: 'count', field: null });
  });

  test('every field function with its path', () => {
    for (const fn of AGGREGATE_FNS.filter((f) => f !== 'count')) {
      assert.deepEqual(parseAggregate(`${fn}(value)`, ['h']), { key: `${fn}(value)`, fn, field: 'value' });
    }
    assert.deepEqual(parseAggregate('distinct(payload.door)', ['h']), { key: 'distinct(payload.door)', fn: 'distinct', field: 'payload.door' });
    assert.deepEqual(parseAggregate('max(metadata.ttl)', ['h']), { key: 'max(metadata.ttl)', fn: 'max', field: 'metadata.ttl' });
  });

  test('invalid forms name the expected ones', () => {
    const expected = /expected count or sum\(f\), avg\(f\), min\(f\), max\(f\), stddev\(f\), first\(f\), last\(f\), delta\(f\), rate\(f\), distinct\(f\), where f is an event path/;
    for (const bad of ['maxx(value)', 'median(value)', 'MAX(value)', 'max (value)', 'max(value', 'max((value))', '', 'count(*)x', 'max(value)+1']) {
      throwsAt(() => parseAggregate(bad, ['having', bad]), ['having', bad], new RegExp(`unknown aggregate "${bad.replace(/[()+*]/g, '\\$&')}" \\(${expected.source}`));
    }
  });

  test('count takes no field; the others need one', () => {
    throwsAt(() => parseAggregate('count(value)', ['h']), ['h'], /count takes no field/);
    throwsAt(() => parseAggregate('max', ['h']), ['h'], /aggregate "max": max needs a field, e\.g\. max\(value\)/);
    throwsAt(() => parseAggregate('avg()', ['h']), ['h'], /avg needs a field/);
  });

  test('the field must be an event path', () => {
    throwsAt(() => parseAggregate('max(vaule)', ['having', 'max(vaule)']), ['having', 'max(vaule)'], /unknown field "vaule"/);
    throwsAt(() => parseAggregate('max( value )', ['h']), ['h'], /unknown field " value "/);
    throwsAt(() => parseAggregate('max(payload..x)', ['h']), ['h'], /invalid field path/);
  });
});

describe('compileHaving', () => {
  test('one clause per key, with the operator test', () => {
    const clauses = compileHaving({ count: { gte: 3 }, 'max(value)': { gt: 30 } }, ['having']);
    assert.deepEqual(clauses.map((c) => c.aggregate), [
      { key: 'count', fn: 'count', field: null },
      { key: 'max(value)', fn: 'max', field: 'value' },
    ]);
    assert.equal(clauses[0].test(3), true);
    assert.equal(clauses[0].test(2), false);
    assert.equal(clauses[1].test(30.5), true);
    assert.equal(clauses[1].test(30), false);
    assert.equal(clauses[1].test(null), false, 'no value fails a comparison');
  });

  test('the numeric operators and shorthand', () => {
    const t = (ops: unknown) => compileHaving({ 'avg(value)': ops }, ['having'])[0].test;
    assert.equal(t(3)(3), true);
    assert.equal(t(3)(4), false);
    assert.equal(t({ eq: 3 })(3), true);
    assert.equal(t({ ne: 3 })(null), true);
    assert.equal(t({ ne: 3 })(3), false);
    assert.equal(t({ lt: 3 })(2), true);
    assert.equal(t({ lte: 3 })(3), true);
    assert.equal(t({ gte: 3 })(2), false);
    assert.equal(t({ between: [1, 2] })(1.5), true);
    assert.equal(t({ between: [1, 2] })(null), false);
    assert.equal(t({ in: [1, 2] })(2), true);
    assert.equal(t({ in: [1, 2] })(3), false);
    assert.equal(t({ exists: true })(0), true);
    assert.equal(t({ exists: true })(null), false);
    assert.equal(t({ exists: false })(null), true);
  });

  test('errors point at the aggregate or its operator', () => {
    throwsAt(() => compileHaving({ maxx: { gt: 1 } }, ['having']), ['having', 'maxx'], /unknown aggregate "maxx"/);
    throwsAt(() => compileHaving({ count: { regex: 'x' } }, ['having']), ['having', 'count', 'regex'],
      new RegExp(`operator "regex" is not allowed here \\(expected one of ${HAVING_OPERATORS.join(', ')}\\)`));
    throwsAt(() => compileHaving({ count: { contains: 1 } }, ['having']), ['having', 'count', 'contains'], /not allowed here/);
    throwsAt(() => compileHaving({ count: { gtt: 1 } }, ['having']), ['having', 'count', 'gtt'], /unknown operator "gtt" \(expected one of eq, ne, gt, gte, lt, lte, between, in, exists\)/);
    throwsAt(() => compileHaving({ count: { gte: 'three' } }, ['having']), ['having', 'count', 'gte'], /operator "gte" expects a number/);
    throwsAt(() => compileHaving({ count: { eq: 'x' } }, ['having']), ['having', 'count', 'eq'], /operator "eq" expects a number/);
    throwsAt(() => compileHaving({ count: 'x' }, ['having']), ['having', 'count'], /operator "eq" expects a number/);
    throwsAt(() => compileHaving({}, ['having']), ['having'], /expected at least one aggregate/);
    throwsAt(() => compileHaving([{ count: 1 }], ['having']), ['having'], /expected a map of aggregate → operators/);
    throwsAt(() => compileHaving('count > 3', ['having']), ['having'], /expected a map/);
  });
});

describe('computeAggregates', () => {
  const series = [reading(10, 0), reading(20, 1000), reading(15, 2000), reading(35, 4000)];

  test('count is the number of events, numeric or not', () => {
    assert.deepEqual(compute(['count', 'count()'], series), { count: 4, 'count()': 4 });
    assert.deepEqual(compute(['count'], [reading('x'), reading(null)]), { count: 2 });
    assert.deepEqual(compute(['count'], []), { count: 0 });
  });

  test('every function over a numeric series', () => {
    const out = compute(ALL_FIELD, series);
    assert.equal(out['sum(value)'], 80);
    assert.equal(out['avg(value)'], 20);
    assert.equal(out['min(value)'], 10);
    assert.equal(out['max(value)'], 35);
    // population: sqrt(((10-20)² + 0 + (15-20)² + (35-20)²) / 4) = sqrt(350/4)
    assert.ok(Math.abs(out['stddev(value)']! - Math.sqrt(87.5)) < 1e-9, String(out['stddev(value)']));
    assert.equal(out['first(value)'], 10);
    assert.equal(out['last(value)'], 35);
    assert.equal(out['delta(value)'], 25);
    assert.equal(out['rate(value)'], 25 / 4, 'per second over the 4 s from first to last');
    assert.equal(out['distinct(value)'], 4);
  });

  test('no events: null for field functions, 0 for count and distinct', () => {
    const out = compute(['count', ...ALL_FIELD], []);
    assert.deepEqual(out, {
      count: 0, 'sum(value)': null, 'avg(value)': null, 'min(value)': null, 'max(value)': null, 'stddev(value)': null,
      'first(value)': null, 'last(value)': null, 'delta(value)': null, 'rate(value)': null, 'distinct(value)': 0,
    });
  });

  test('non-numeric values are skipped; none at all gives null', () => {
    const junk = [reading('31'), reading(null), reading(true), reading([1]), reading({ v: 1 })];
    const out = compute(['count', ...ALL_FIELD], junk);
    assert.equal(out.count, 5);
    for (const k of ALL_FIELD.filter((k) => k !== 'distinct(value)')) assert.equal(out[k], null, k);
    assert.equal(out['distinct(value)'], 4, '"31", true, [1], {v:1}: null is no value');

    const mixed = [reading('hot', 0), reading(10, 1000), reading('x', 2000), reading(20, 3000), reading(null, 9000)];
    const m = compute(ALL_FIELD, mixed);
    assert.equal(m['sum(value)'], 30);
    assert.equal(m['avg(value)'], 15);
    assert.equal(m['min(value)'], 10);
    assert.equal(m['max(value)'], 20);
    assert.equal(m['stddev(value)'], 5);
    assert.equal(m['first(value)'], 10, 'first numeric value');
    assert.equal(m['last(value)'], 20, 'last numeric value');
    assert.equal(m['delta(value)'], 10);
    assert.equal(m['rate(value)'], 5, 'span between the events that carried first and last');
  });

  test('a single value', () => {
    const out = compute(ALL_FIELD, [reading(7)]);
    assert.equal(out['sum(value)'], 7);
    assert.equal(out['avg(value)'], 7);
    assert.equal(out['stddev(value)'], 0);
    assert.equal(out['first(value)'], 7);
    assert.equal(out['last(value)'], 7);
    assert.equal(out['delta(value)'], 0);
    assert.equal(out['rate(value)'], null, 'fewer than 2 values');
    assert.equal(out['distinct(value)'], 1);
  });

  test('rate is null over a zero time span', () => {
    const out = compute(['rate(value)', 'delta(value)'], [reading(1, 500), reading(5, 500)]);
    assert.equal(out['rate(value)'], null);
    assert.equal(out['delta(value)'], 4);
  });

  test('negative deltas and rates', () => {
    const out = compute(['delta(value)', 'rate(value)'], [reading(30, 0), reading(20, 2000)]);
    assert.equal(out['delta(value)'], -10);
    assert.equal(out['rate(value)'], -5);
  });

  test('rate uses timeOf', () => {
    const evs = [reading(0, 0), reading(10, 0)];
    const seqTime = (e: EdgeEvent) => e.seq * 1000;
    assert.equal(computeAggregates(refs('rate(value)'), evs, seqTime)['rate(value)'], 10);
  });

  test('distinct compares scalars by value and type, structures by their JSON', () => {
    const evs = [
      reading(0, 0, { door: 'open' }), reading(0, 0, { door: 'shut' }), reading(0, 0, { door: 'open' }),
      reading(0, 0, { door: 1 }), reading(0, 0, { door: '1' }), reading(0, 0, { door: true }),
      reading(0, 0, { door: null }), reading(0, 0, {}),
      reading(0, 0, { door: { a: 1 } }), reading(0, 0, { door: { a: 1 } }), reading(0, 0, { door: [1] }),
    ];
    assert.equal(compute(['distinct(payload.door)'], evs)['distinct(payload.door)'], 7);
  });

  test('several functions over one field and several fields at once', () => {
    const evs = [reading(1, 0, { h: 50 }), reading(3, 1000, { h: 70 })];
    const out = compute(['count', 'max(value)', 'min(value)', 'avg(payload.h)', 'sum(payload.h)', 'max(payload.missing)'], evs);
    assert.deepEqual(out, { count: 2, 'max(value)': 3, 'min(value)': 1, 'avg(payload.h)': 60, 'sum(payload.h)': 120, 'max(payload.missing)': null });
  });

  test('stddev stays accurate for large values with small variance', () => {
    const evs = [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16].map((v, i) => reading(v, i));
    const sd = compute(['stddev(value)'], evs)['stddev(value)']!;
    assert.ok(Math.abs(sd - Math.sqrt(22.5)) < 1e-6, String(sd));
  });

  test('no refs, no values', () => {
    assert.deepEqual(computeAggregates([], series, timeOf), {});
  });
});
