import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMetadata, type EdgeEvent, type JsonValue } from '../../src/events/types.js';
import { compileCondition, compileField, compileOperators, fieldValue, OPERATORS, validateField } from '../../src/rules/conditions.js';
import { throwsAt } from '../helpers/rule-errors.js';

const TS = '2026-11-26T01:02:03.456Z';

/** A temperature reading from gh-1; `over` replaces top-level parts. */
function reading(value: JsonValue, over: Partial<EdgeEvent> = {}): EdgeEvent {
  return {
    id: 'gh-1:0:7',
    type: 'DeviceData',
    source: 'gh-1',
    timestamp: TS,
    seq: 42,
    payload: { value, unit: 'C', door: { state: 'open' }, tags: ['a', 'b'] },
    sensor: { type: 'temperature', value, unit: 'C', accuracy: 0.5, timestamp: TS },
    device: { id: 'gh-1', model: 'x1' },
    location: { lat: 51.5, lon: -0.1 },
    metadata: defaultMetadata('high'),
    ...over,
  };
}

/** An event without a sensor: value/unit/accuracy come from the payload. */
function bare(payload: EdgeEvent['payload']): EdgeEvent {
  const e = reading(0, { type: 'BusinessEvent', payload });
  delete e.sensor;
  return e;
}


const where = (spec: unknown) => compileCondition(spec, ['where']);

describe('fieldValue', () => {
  const e = reading(31.5);

  test('value, unit and accuracy are the sensor reading', () => {
    const s = reading(1, { payload: { value: 99, unit: 'F' } });
    assert.equal(fieldValue(s, 'value'), 1);
    assert.equal(fieldValue(s, 'unit'), 'C');
    assert.equal(fieldValue(s, 'accuracy'), 0.5);
  });

  test('without a sensor they fall back to the payload', () => {
    const b = bare({ value: 7, unit: 'kg', accuracy: 0.1 });
    assert.equal(fieldValue(b, 'value'), 7);
    assert.equal(fieldValue(b, 'unit'), 'kg');
    assert.equal(fieldValue(b, 'accuracy'), 0.1);
    assert.equal(fieldValue(bare({}), 'value'), undefined);
  });

  test('a null sensor unit stays null (no fallback when there is a sensor)', () => {
    const s = reading(1);
    s.sensor!.unit = null;
    assert.equal(fieldValue(s, 'unit'), null);
  });

  test('dotted paths from the event root', () => {
    assert.equal(fieldValue(e, 'source'), 'gh-1');
    assert.equal(fieldValue(e, 'type'), 'DeviceData');
    assert.equal(fieldValue(e, 'id'), 'gh-1:0:7');
    assert.equal(fieldValue(e, 'seq'), 42);
    assert.equal(fieldValue(e, 'timestamp'), TS);
    assert.equal(fieldValue(e, 'payload.door.state'), 'open');
    assert.equal(fieldValue(e, 'metadata.priority'), 'high');
    assert.equal(fieldValue(e, 'device.id'), 'gh-1');
    assert.equal(fieldValue(e, 'sensor.type'), 'temperature');
    assert.equal(fieldValue(e, 'location.lat'), 51.5);
    assert.deepEqual(fieldValue(e, 'payload.door'), { state: 'open' });
  });

  test('array elements by index; other array keys are missing', () => {
    assert.equal(fieldValue(e, 'payload.tags.1'), 'b');
    assert.equal(fieldValue(e, 'payload.tags.2'), undefined);
    assert.equal(fieldValue(e, 'payload.tags.length'), undefined);
    assert.equal(fieldValue(e, 'payload.tags.01'), undefined);
  });

  test('a missing path is undefined, never an error', () => {
    assert.equal(fieldValue(e, 'payload.nope'), undefined);
    assert.equal(fieldValue(e, 'payload.door.state.deeper'), undefined);
    assert.equal(fieldValue(e, 'network.rssi'), undefined);
    assert.equal(fieldValue(e, 'sensor.value.x'), undefined);
    assert.equal(fieldValue(e, 'nosuchroot'), undefined);
    assert.equal(fieldValue(e, 'payload..x'), undefined);
    assert.equal(fieldValue(e, ''), undefined);
  });

  test('inherited properties are not fields', () => {
    assert.equal(fieldValue(e, 'payload.constructor'), undefined);
    assert.equal(fieldValue(e, 'payload.toString'), undefined);
    assert.equal(fieldValue(bare({}), 'value'), undefined);
    assert.equal(fieldValue(e, 'payload.__proto__'), undefined);
  });

  test('compileField gives the same answers as fieldValue', () => {
    for (const p of ['value', 'source', 'payload.door.state', 'payload.tags.0', 'metadata.priority', 'nope']) {
      assert.deepEqual(compileField(p)(e), fieldValue(e, p), p);
    }
  });

  test('validateField rejects unknown roots and empty segments', () => {
    validateField('payload.x.y', ['where', 'payload.x.y']);
    validateField('value', []);
    throwsAt(() => validateField('vaule', ['where', 'vaule']), ['where', 'vaule'], /unknown field "vaule" \(expected value, unit, accuracy, or a path under id, type, source/);
    throwsAt(() => validateField('payload..x', ['k']), ['k'], /invalid field path "payload\.\.x"/);
    throwsAt(() => validateField('', ['k']), ['k'], /invalid field path ""/);
  });
});

describe('operators', () => {
  const holds = (spec: unknown, value: JsonValue | undefined) => {
    const e = reading(0);
    if (value === undefined) delete (e.sensor as { value?: unknown }).value;
    else e.sensor!.value = value;
    return where({ value: spec })(e);
  };

  test('OPERATORS lists every operator', () => {
    assert.deepEqual([...OPERATORS], ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'contains', 'regex', 'exists']);
  });

  test('eq: strict equality on scalars', () => {
    assert.equal(holds({ eq: 30 }, 30), true);
    assert.equal(holds({ eq: 30 }, 31), false);
    assert.equal(holds({ eq: 30 }, '30'), false, 'no coercion');
    assert.equal(holds({ eq: 'on' }, 'on'), true);
    assert.equal(holds({ eq: true }, true), true);
    assert.equal(holds({ eq: true }, 1), false);
    assert.equal(holds({ eq: null }, null), true);
    assert.equal(holds({ eq: null }, undefined), false, 'missing is not null');
    assert.equal(holds({ eq: 1 }, [1]), false);
  });

  test('a bare scalar is shorthand for eq', () => {
    assert.equal(where({ source: 'gh-1' })(reading(0)), true);
    assert.equal(where({ source: 'gh-2' })(reading(0)), false);
    assert.equal(where({ value: 3 })(reading(3)), true);
    assert.equal(where({ 'sensor.unit': null })(reading(3)), false);
  });

  test('ne: exactly not-eq, so a missing field is not equal', () => {
    assert.equal(holds({ ne: 30 }, 31), true);
    assert.equal(holds({ ne: 30 }, 30), false);
    assert.equal(holds({ ne: 30 }, '30'), true);
    assert.equal(holds({ ne: 30 }, undefined), true);
  });

  test('gt gte lt lte: numbers only', () => {
    assert.equal(holds({ gt: 30 }, 30.1), true);
    assert.equal(holds({ gt: 30 }, 30), false);
    assert.equal(holds({ gte: 30 }, 30), true);
    assert.equal(holds({ gte: 30 }, 29.9), false);
    assert.equal(holds({ lt: 30 }, 29), true);
    assert.equal(holds({ lt: 30 }, 30), false);
    assert.equal(holds({ lte: 30 }, 30), true);
    assert.equal(holds({ lte: 30 }, 31), false);
    assert.equal(holds({ gte: -5 }, -5), true);
    for (const op of ['gt', 'gte', 'lt', 'lte']) {
      assert.equal(holds({ [op]: 0 }, '100'), false, `${op}: a numeric string is not a number`);
      assert.equal(holds({ [op]: 0 }, '-100'), false, `${op}: a numeric string is not a number`);
      assert.equal(holds({ [op]: 0 }, undefined), false, `${op}: missing`);
      assert.equal(holds({ [op]: 0 }, null), false, `${op}: null`);
      assert.equal(holds({ [op]: 0 }, true), false, `${op}: boolean`);
      assert.equal(holds({ [op]: 0 }, [5]), false, `${op}: array`);
    }
  });

  test('several operators on one field must all hold', () => {
    assert.equal(holds({ gt: 10, lt: 20 }, 15), true);
    assert.equal(holds({ gt: 10, lt: 20 }, 25), false);
    assert.equal(holds({ gt: 10, lt: 20 }, 5), false);
  });

  test('between: inclusive', () => {
    assert.equal(holds({ between: [10, 20] }, 10), true);
    assert.equal(holds({ between: [10, 20] }, 20), true);
    assert.equal(holds({ between: [10, 20] }, 15), true);
    assert.equal(holds({ between: [10, 20] }, 9.99), false);
    assert.equal(holds({ between: [10, 20] }, 20.01), false);
    assert.equal(holds({ between: [10, 20] }, '15'), false);
    assert.equal(holds({ between: [10, 20] }, undefined), false);
    assert.equal(holds({ between: [5, 5] }, 5), true);
  });

  test('in: membership by strict equality', () => {
    assert.equal(holds({ in: [1, 2, 3] }, 2), true);
    assert.equal(holds({ in: [1, 2, 3] }, 4), false);
    assert.equal(holds({ in: [1, 2, 3] }, '2'), false);
    assert.equal(holds({ in: ['open', 'ajar'] }, 'ajar'), true);
    assert.equal(holds({ in: [null, false] }, null), true);
    assert.equal(holds({ in: [null] }, undefined), false);
  });

  test('contains: substring of a string, element of an array', () => {
    assert.equal(holds({ contains: 'ver' }, 'overheat'), true);
    assert.equal(holds({ contains: 'cold' }, 'overheat'), false);
    assert.equal(holds({ contains: 'b' }, ['a', 'b']), true);
    assert.equal(holds({ contains: 'c' }, ['a', 'b']), false);
    assert.equal(holds({ contains: 2 }, [1, 2]), true);
    assert.equal(holds({ contains: 2 }, ['2']), false, 'elements compare strictly');
    assert.equal(holds({ contains: 5 }, '15'), false, 'a number is not a substring');
    assert.equal(holds({ contains: 'a' }, 5), false);
    assert.equal(holds({ contains: 'a' }, undefined), false);
    assert.equal(holds({ contains: 'open' }, { state: 'open' }), false, 'objects contain nothing');
    assert.equal(where({ 'payload.tags': { contains: 'a' } })(reading(0)), true);
  });

  test('regex: strings only, no coercion', () => {
    assert.equal(where({ source: { regex: '^gh-' } })(reading(0)), true);
    assert.equal(where({ source: { regex: '^GH-' } })(reading(0)), false);
    assert.equal(holds({ regex: '^3' }, 31), false, 'a number is not matched as text');
    assert.equal(holds({ regex: '.*' }, undefined), false);
    assert.equal(holds({ regex: '.*' }, null), false);
  });

  test('regex: the pattern is compiled once and reused (no lastIndex state)', () => {
    const p = where({ source: { regex: 'gh' } });
    for (let i = 0; i < 3; i++) assert.equal(p(reading(0)), true);
  });

  test('exists: present and not null', () => {
    const e = reading(0);
    assert.equal(where({ 'payload.door': { exists: true } })(e), true);
    assert.equal(where({ 'payload.door': { exists: false } })(e), false);
    assert.equal(where({ 'payload.nope': { exists: true } })(e), false);
    assert.equal(where({ 'payload.nope': { exists: false } })(e), true);
    e.sensor!.unit = null;
    assert.equal(where({ unit: { exists: true } })(e), false, 'null counts as absent');
    assert.equal(where({ unit: { exists: false } })(e), true);
    assert.equal(holds({ exists: true }, 0), true, 'zero exists');
    assert.equal(holds({ exists: true }, ''), true, 'empty string exists');
    assert.equal(holds({ exists: true }, false), true, 'false exists');
  });

  test('a non-numeric value fails numeric operators, not the whole rule', () => {
    const p = where({ value: { gt: 30 }, source: 'gh-1' });
    assert.equal(p(reading('hot')), false);
    assert.equal(p(reading(31)), true);
  });
});

describe('composition', () => {
  test('every field entry must hold', () => {
    const p = where({ value: { gt: 30 }, source: { regex: '^gh-' } });
    assert.equal(p(reading(31)), true);
    assert.equal(p(reading(29)), false);
    assert.equal(p(reading(31, { source: 'barn-1' })), false);
  });

  test('all', () => {
    const p = where({ all: [{ value: { gt: 10 } }, { value: { lt: 20 } }] });
    assert.equal(p(reading(15)), true);
    assert.equal(p(reading(25)), false);
  });

  test('any', () => {
    const p = where({ any: [{ value: { lt: 0 } }, { value: { gt: 40 } }, { source: 'barn-1' }] });
    assert.equal(p(reading(-1)), true);
    assert.equal(p(reading(41)), true);
    assert.equal(p(reading(20, { source: 'barn-1' })), true);
    assert.equal(p(reading(20)), false);
  });

  test('not', () => {
    const p = where({ not: { source: 'gh-1' } });
    assert.equal(p(reading(0)), false);
    assert.equal(p(reading(0, { source: 'gh-2' })), true);
  });

  test('composition keys beside field keys: all parts must hold', () => {
    const p = where({
      'metadata.priority': { in: ['high', 'critical'] },
      any: [{ value: { gt: 30 } }, { 'payload.door.state': 'open' }],
      not: { source: { regex: 'test' } },
    });
    assert.equal(p(reading(10)), true, 'door open');
    assert.equal(p(reading(10, { metadata: defaultMetadata('low') })), false, 'priority');
    assert.equal(p(reading(10, { source: 'gh-test' })), false, 'not');
    assert.equal(p(reading(10, { payload: { door: { state: 'shut' } } })), false, 'any: neither');
    assert.equal(p(reading(31, { payload: { door: { state: 'shut' } } })), true, 'any: hot');
  });

  test('nesting', () => {
    const p = where({ not: { any: [{ all: [{ value: { gt: 1 } }, { value: { lt: 3 } }] }, { value: 10 }] } });
    assert.equal(p(reading(2)), false);
    assert.equal(p(reading(10)), false);
    assert.equal(p(reading(5)), true);
  });
});

describe('errors', () => {
  test('an unknown operator names the operator and the list', () => {
    throwsAt(() => where({ value: { gtt: 30 } }), ['where', 'value', 'gtt'],
      /^unknown operator "gtt" \(expected one of eq, ne, gt, gte, lt, lte, between, in, contains, regex, exists\)$/);
  });

  test('bad operands point at the operator', () => {
    throwsAt(() => where({ value: { gt: 'x' } }), ['where', 'value', 'gt'], /operator "gt" expects a number \(got "x"\)/);
    throwsAt(() => where({ value: { lte: null } }), ['where', 'value', 'lte'], /operator "lte" expects a number/);
    throwsAt(() => where({ value: { between: [1] } }), ['where', 'value', 'between'], /operator "between" expects \[lo, hi\]: two numbers with lo <= hi \(got \[1\]\)/);
    throwsAt(() => where({ value: { between: [5, 1] } }), ['where', 'value', 'between'], /lo <= hi/);
    throwsAt(() => where({ value: { between: ['a', 'b'] } }), ['where', 'value', 'between'], /two numbers/);
    throwsAt(() => where({ value: { between: 3 } }), ['where', 'value', 'between'], /\[lo, hi\]/);
    throwsAt(() => where({ value: { in: [] } }), ['where', 'value', 'in'], /operator "in" expects a non-empty list/);
    throwsAt(() => where({ value: { in: 3 } }), ['where', 'value', 'in'], /non-empty list/);
    throwsAt(() => where({ value: { in: [{ a: 1 }] } }), ['where', 'value', 'in'], /strings, numbers, booleans or nulls/);
    throwsAt(() => where({ value: { eq: [1, 2] } }), ['where', 'value', 'eq'], /operator "eq" expects a string, number, boolean or null/);
    throwsAt(() => where({ value: { ne: { a: 1 } } }), ['where', 'value', 'ne'], /operator "ne" expects/);
    throwsAt(() => where({ value: { contains: [1] } }), ['where', 'value', 'contains'], /operator "contains" expects/);
    throwsAt(() => where({ value: { regex: 5 } }), ['where', 'value', 'regex'], /operator "regex" expects a regular expression pattern as a string/);
    throwsAt(() => where({ value: { exists: 'yes' } }), ['where', 'value', 'exists'], /operator "exists" expects true or false/);
  });

  test('an invalid regex is reported at its operator', () => {
    throwsAt(() => where({ source: { regex: '(' } }), ['where', 'source', 'regex'], /operator "regex" expects a valid regular expression: .*/);
  });

  test('an empty or non-map operator value', () => {
    throwsAt(() => where({ value: {} }), ['where', 'value'], /expected at least one operator/);
    throwsAt(() => where({ value: [1, 2] }), ['where', 'value'], /expected an operator map such as \{ gt: 30 \}/);
  });

  test('an unknown field is reported at its key', () => {
    throwsAt(() => where({ vaule: { gt: 3 } }), ['where', 'vaule'], /unknown field "vaule"/);
  });

  test('condition shape errors', () => {
    throwsAt(() => where('value > 3'), ['where'], /expected a condition/);
    throwsAt(() => where(null), ['where'], /expected a condition/);
    throwsAt(() => where([]), ['where'], /expected a condition/);
    throwsAt(() => where({}), ['where'], /expected at least one field or all\/any\/not/);
    throwsAt(() => where({ all: [] }), ['where', 'all'], /"all" expects a non-empty list of conditions/);
    throwsAt(() => where({ any: { value: 3 } }), ['where', 'any'], /"any" expects a non-empty list/);
    throwsAt(() => where({ not: 3 }), ['where', 'not'], /expected a condition/);
  });

  test('paths reach into nested composition', () => {
    throwsAt(() => where({ any: [{ value: 1 }, { not: { value: { gtt: 3 } } }] }), ['where', 'any', 1, 'not', 'value', 'gtt'], /unknown operator "gtt"/);
    throwsAt(() => where({ all: [{ value: 1 }, 'x'] }), ['where', 'all', 1], /expected a condition/);
  });
});

describe('compileOperators', () => {
  test('restricted operators and numeric operands', () => {
    const t = compileOperators({ gte: 3 }, ['having', 'count'], { operators: ['eq', 'gte'], numeric: true });
    assert.equal(t(3), true);
    assert.equal(t(2), false);
    assert.equal(t(null), false);
    throwsAt(() => compileOperators({ regex: 'x' }, ['h'], { operators: ['eq', 'gte'] }), ['h', 'regex'],
      /^operator "regex" is not allowed here \(expected one of eq, gte\)$/);
    throwsAt(() => compileOperators({ nope: 1 }, ['h'], { operators: ['eq', 'gte'] }), ['h', 'nope'], /unknown operator "nope" \(expected one of eq, gte\)/);
    throwsAt(() => compileOperators({ eq: 'x' }, ['h'], { numeric: true }), ['h', 'eq'], /operator "eq" expects a number/);
    throwsAt(() => compileOperators({ in: [1, 'x'] }, ['h'], { numeric: true }), ['h', 'in'], /a non-empty list of numbers/);
    throwsAt(() => compileOperators('x', ['h'], { numeric: true }), ['h'], /operator "eq" expects a number/);
  });
});
