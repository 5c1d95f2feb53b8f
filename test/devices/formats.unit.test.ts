import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createDecoder } from '../../src/devices/formats/index.js';
import { MAX_FRAME_BYTES } from '../../src/devices/framing.js';
import { FrameError, type DecodedFrame, type FieldSpec, type FormatName, type FormatOptions } from '../../src/devices/types.js';

/** A field as the loader fills it in; `over` sets what the test is about. */
function field(name: string, over: Partial<FieldSpec> = {}): FieldSpec {
  return {
    name, unit: null, column: null, path: null, key: null, group: null, offset: null, type: null, endian: 'big',
    register: null, table: 'holding', wordOrder: 'big', scale: 1, add: 0, ...over,
  };
}

const OPTIONS: FormatOptions = {
  separator: ',', header: true, assign: '=', pattern: null, input: 'binary', requireChecksum: false, unitId: 1,
};

function decoder(format: FormatName, fields: FieldSpec[] = [], options: Partial<FormatOptions> = {}) {
  const decode = createDecoder({ format, fields, options: { ...OPTIONS, ...options } });
  return (frame: string | Buffer): DecodedFrame => decode(typeof frame === 'string' ? Buffer.from(frame) : frame);
}

/** Asserts the frame is refused with a FrameError whose message matches `reason`. */
function rejects(decode: (f: string | Buffer) => DecodedFrame, frame: string | Buffer, reason: RegExp | string): void {
  assert.throws(() => decode(frame), (err: unknown) => {
    assert.ok(err instanceof FrameError, `expected a FrameError, got ${String(err)}`);
    if (typeof reason === 'string') assert.equal(err.message, reason);
    else assert.match(err.message, reason);
    return true;
  });
}

/** "value unit" per sensor, to compare readings at a glance. */
function readings(f: DecodedFrame): Record<string, [number | string | boolean, string | null]> {
  return Object.fromEntries(f.readings.map((r) => [r.sensor, [r.value, r.unit]]));
}

/** An NMEA sentence with its checksum (XOR of the characters between $ and *). */
function nmea(body: string): string {
  let sum = 0;
  for (const ch of body) sum ^= ch.charCodeAt(0);
  return `$${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}`;
}

const BAD_UTF8 = Buffer.from([0x74, 0x3d, 0xff, 0xfe]);

describe('json', () => {
  test('without fields: top-level numbers, booleans and strings, by key, unit null', () => {
    const f = decoder('json')('{"t":21.5,"on":true,"state":"ok","nested":{"x":1},"list":[1],"none":null}');
    assert.deepEqual(f.readings, [
      { sensor: 't', value: 21.5, unit: null },
      { sensor: 'on', value: true, unit: null },
      { sensor: 'state', value: 'ok', unit: null },
    ]);
    assert.equal(f.timestamp, undefined);
  });

  test('ts is the timestamp (ISO or epoch ms); ts, id and seq are not readings', () => {
    const iso = decoder('json')('{"ts":"2026-03-01T10:00:00.250+01:00","id":"a","seq":7,"t":1}');
    assert.equal(iso.timestamp, Date.parse('2026-03-01T09:00:00.250Z'));
    assert.deepEqual(readings(iso), { t: [1, null] });
    assert.equal(decoder('json')('{"ts":1767225600000,"t":1}').timestamp, 1767225600000);
  });

  test('a ts that is neither ISO with offset nor epoch ms is refused', () => {
    const d = decoder('json');
    rejects(d, '{"ts":"yesterday","t":1}', /^json: ts "yesterday" is not an ISO time/);
    rejects(d, '{"ts":"2026-03-01T10:00:00","t":1}', /is not an ISO time/);
    rejects(d, '{"ts":1767225600,"t":1}', 'json: ts 1767225600 is not epoch milliseconds (seconds, or time since boot?)');
    rejects(d, '{"ts":true,"t":1}', /^json: ts \(boolean\)/);
  });

  test('fields read dot paths (default: the name), with units, scale and add', () => {
    const d = decoder('json', [
      field('temperature', { path: 'env.t', unit: 'C' }),
      field('humidity', { unit: '%' }),
      field('raw', { path: 'adc.0', scale: 0.5, add: -1 }),
    ]);
    assert.deepEqual(readings(d('{"env":{"t":21.5},"humidity":40,"adc":[10],"other":3}')), {
      temperature: [21.5, 'C'], humidity: [40, '%'], raw: [4, null],
    });
  });

  test('a missing, null or object field is refused, naming the field', () => {
    const d = decoder('json', [field('temperature', { path: 'env.t' }), field('humidity')]);
    rejects(d, '{"env":{},"humidity":1}', 'json: missing field "temperature" (path env.t)');
    rejects(d, '{"env":{"t":1}}', 'json: missing field "humidity"');
    rejects(d, '{"env":{"t":1},"humidity":null}', 'json: missing field "humidity"');
    rejects(d, '{"env":{"t":{"c":1}},"humidity":1}', 'json: field "temperature" (path env.t) is an object, not a value');
  });

  test('paths read own properties only: Object.prototype is not data', () => {
    const d = decoder('json', [field('c', { path: 'a.constructor' }), field('s', { path: 'a.toString' })]);
    rejects(d, '{"a":{}}', 'json: missing field "c" (path a.constructor)');
  });

  test('__proto__, constructor and prototype keys are refused, and nothing is polluted', () => {
    const d = decoder('json');
    rejects(d, '{"__proto__":{"polluted":1},"t":1}', 'json: key "__proto__" is not allowed');
    rejects(d, '{"constructor":1}', 'json: key "constructor" is not allowed');
    rejects(decoder('json', [field('t')]), '{"prototype":1,"t":1}', 'json: key "prototype" is not allowed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('keys that cannot name a sensor (topic characters) are refused', () => {
    rejects(decoder('json'), '{"a/b":1}', /^json: key "a\/b" cannot name a sensor/);
    rejects(decoder('json'), '{"#":1}', /cannot name a sensor/);
  });

  test('not JSON, not an object, not UTF-8', () => {
    const d = decoder('json');
    rejects(d, '{"t":', /^json: /);
    rejects(d, '[1,2]', 'json: expected an object, got an array');
    rejects(d, '42', 'json: expected an object, got number');
    rejects(d, 'null', 'json: expected an object, got null');
    rejects(d, BAD_UTF8, 'json: not valid UTF-8');
  });

  test('a number that scales to infinity is refused', () => {
    rejects(decoder('json', [field('t', { scale: 1e308 })]), '{"t":1e10}', /^json: t is not a finite number/);
    rejects(decoder('json', [field('t', { scale: 2 })]), '{"t":"high"}', 'json: t is "high", not a number (the field has scale/add)');
  });
});

describe('csv', () => {
  const fields = [field('temperature', { unit: 'C' }), field('humidity', { unit: '%' }), field('state')];

  test('fields by position, trimmed; numbers become numbers, other text stays text', () => {
    assert.deepEqual(decoder('csv', fields)(' 21.5 , 40,ok\r').readings, [
      { sensor: 'temperature', value: 21.5, unit: 'C' },
      { sensor: 'humidity', value: 40, unit: '%' },
      { sensor: 'state', value: 'ok', unit: null },
    ]);
  });

  test('columns pick cells; extra columns are ignored; separator is an option', () => {
    const d = decoder('csv', [field('b', { column: 3 }), field('a', { column: 1 })], { separator: ';' });
    assert.deepEqual(readings(d('x;1;y;-2.5e1;z;w')), { b: [-25, null], a: [1, null] });
  });

  test('too few columns is refused', () => {
    rejects(decoder('csv', fields), '21.5,40', 'csv: expected 3 columns, got 2');
    rejects(decoder('csv', [field('b', { column: 4 })]), '1,2', 'csv: expected 5 columns, got 2');
  });

  test('a header line (no numbers in the fields) is skipped when header is on', () => {
    assert.deepEqual(decoder('csv', fields)('temperature,humidity,state'), { readings: [] });
    const off = decoder('csv', fields, { header: false })('temperature,humidity,state');
    assert.deepEqual(readings(off), { temperature: ['temperature', 'C'], humidity: ['humidity', '%'], state: ['state', null] });
  });

  test('scale and add, on numbers only', () => {
    const d = decoder('csv', [field('t', { scale: 0.1, add: -40 }), field('n', { scale: 2 })]);
    assert.deepEqual(readings(d('650,3')), { t: [650 * 0.1 - 40, null], n: [6, null] });
    rejects(d, '650,many', 'csv: n is "many", not a number (the field has scale/add)');
  });

  test('an empty cell, bad UTF-8 and an overflowing number are refused', () => {
    rejects(decoder('csv', fields), '21.5,,ok', 'csv: humidity is empty');
    rejects(decoder('csv', fields), BAD_UTF8, 'csv: not valid UTF-8');
    rejects(decoder('csv', [field('t')]), '1e999', /^csv: t is not a finite number/);
  });

  test('text that only looks numeric to Number() stays text', () => {
    const d = decoder('csv', [field('a'), field('b'), field('c'), field('d')]);
    assert.deepEqual(readings(d('0x1F,Infinity,1.5.2,7')), { a: ['0x1F', null], b: ['Infinity', null], c: ['1.5.2', null], d: [7, null] });
  });
});

describe('kv', () => {
  test('without fields: every pair, separated by spaces, commas or semicolons', () => {
    const d = decoder('kv');
    const want = { t: [21.5, null], h: [40, null], mode: ['auto', null] };
    assert.deepEqual(readings(d('t=21.5 h=40 mode=auto')), want);
    assert.deepEqual(readings(d('t=21.5,h=40;mode=auto\r')), want);
    assert.deepEqual(readings(d('  t = 21.5 ,  h= 40 ; mode =auto')), want);
  });

  test('fields read keys (default: the name), with units and scaling', () => {
    const d = decoder('kv', [field('temperature', { key: 't', unit: 'C', scale: 10 }), field('h', { unit: '%' })]);
    assert.deepEqual(readings(d('h=40 t=2.5 extra=1')), { temperature: [25, 'C'], h: [40, '%'] });
    rejects(d, 'h=40', 'kv: missing key "t"');
  });

  test('another assign sign', () => {
    assert.deepEqual(readings(decoder('kv', [], { assign: ':' })('t:1 h: 2')), { t: [1, null], h: [2, null] });
  });

  test('a token that is not a pair, an empty value, or no pairs at all is refused', () => {
    const d = decoder('kv');
    rejects(d, 't=1 oops', 'kv: "oops" is not a key=value pair');
    rejects(d, '=5', 'kv: "=5" is not a key=value pair');
    rejects(d, 't=', 'kv: t is empty');
    rejects(d, ' , ', 'kv: no key=value pairs');
    rejects(d, BAD_UTF8, 'kv: not valid UTF-8');
  });

  test('keys from the frame must be usable sensor names', () => {
    rejects(decoder('kv'), '__proto__=1', 'kv: key "__proto__" is not allowed');
    rejects(decoder('kv'), 'a+b=1', /^kv: key "a\+b" cannot name a sensor/);
  });
});

describe('nmea', () => {
  // The classic GGA/RMC examples (Munich), and a u-blox GN receiver; checksums computed by hand.
  const GGA = '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47';
  const RMC = '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A';
  const GN_GGA = '$GNGGA,001043.00,4404.14036,N,12118.85961,W,1,12,0.98,1113.0,M,-21.3,M,,*47';
  const GN_RMC = '$GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,A*7B';

  test('GGA: location with altitude, and fix quality, satellites, hdop, altitude (m)', () => {
    const f = decoder('nmea')(GGA);
    assert.ok(Math.abs(f.location!.lat - (48 + 7.038 / 60)) < 1e-9);
    assert.ok(Math.abs(f.location!.lon - (11 + 31 / 60)) < 1e-9);
    assert.equal(f.location!.alt, 545.4);
    assert.deepEqual(readings(f), { fixQuality: [1, null], satellites: [8, null], hdop: [0.9, null], altitude: [545.4, 'm'] });
    assert.equal(f.timestamp, undefined, 'GGA has a time but no date');
  });

  test('RMC: location, speed (kn), course (deg), and the UTC timestamp', () => {
    const f = decoder('nmea')(RMC);
    assert.ok(Math.abs(f.location!.lat - 48.1173) < 1e-9);
    assert.equal(f.location!.alt, undefined);
    assert.deepEqual(readings(f), { speed: [22.4, 'kn'], course: [84.4, 'deg'] });
    assert.equal(f.timestamp, Date.parse('1994-03-23T12:35:19Z'));
  });

  test('other talkers; S and W are negative; empty values are not read', () => {
    const gga = decoder('nmea')(GN_GGA);
    assert.ok(Math.abs(gga.location!.lat - (44 + 4.14036 / 60)) < 1e-9);
    assert.ok(Math.abs(gga.location!.lon + (121 + 18.85961 / 60)) < 1e-9);
    const rmc = decoder('nmea')(GN_RMC);
    assert.deepEqual(readings(rmc), { speed: [0.146, 'kn'] }, 'course is empty when standing still');
    assert.equal(rmc.timestamp, Date.parse('2017-01-10T00:10:31.000Z'));
    const south = decoder('nmea')(nmea('GAGGA,101010,3351.500,S,15112.000,E,2,05,1.2,10,M,,M,,'));
    assert.ok(Math.abs(south.location!.lat + (33 + 51.5 / 60)) < 1e-9);
  });

  test('fields keep only the readings listed, with their units and scaling', () => {
    const d = decoder('nmea', [field('altitude', { unit: 'ft', scale: 3.28084 }), field('satellites'), field('speed', { unit: null })]);
    assert.deepEqual(readings(d(GGA)), { satellites: [8, null], altitude: [545.4 * 3.28084, 'ft'] });
    assert.deepEqual(readings(d(RMC)), { speed: [22.4, 'kn'] }, 'a null unit is the default');
  });

  test('no fix, status V, and other sentences are ignored, not errors', () => {
    const d = decoder('nmea');
    assert.deepEqual(d(nmea('GPGGA,123519,,,,,0,00,,,M,,M,,')), { readings: [] });
    assert.deepEqual(d(nmea('GPRMC,123519,V,,,,,,,230394,,')), { readings: [] });
    assert.deepEqual(d('$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74'), { readings: [] });
    assert.deepEqual(d(nmea('GPVTG,054.7,T,034.4,M,005.5,N,010.2,K')), { readings: [] });
    assert.deepEqual(d(nmea('PGRME,15.0,M,45.0,M,25.0,M')), { readings: [] });
  });

  test('a wrong checksum is refused, on any sentence; case does not matter', () => {
    const d = decoder('nmea');
    rejects(d, GGA.replace('*47', '*48'), 'nmea: checksum 48 does not match 47');
    rejects(d, GGA.replace('545.4', '545.5'), 'nmea: checksum 47 does not match 46');
    rejects(d, '$GPGSV,3,1,11*00', /^nmea: checksum 00 does not match/);
    rejects(d, GGA.replace('*47', '*4G'), 'nmea: malformed checksum "4G"');
    assert.equal(d(GN_RMC.replace('*7B', '*7b')).readings.length, 1);
  });

  test('a missing checksum is accepted unless requireChecksum', () => {
    const bare = GGA.slice(0, GGA.indexOf('*'));
    assert.equal(decoder('nmea')(bare).readings.length, 4);
    rejects(decoder('nmea', [], { requireChecksum: true }), bare, 'nmea: checksum missing');
    assert.equal(decoder('nmea', [], { requireChecksum: true })(GGA).readings.length, 4);
  });

  test('malformed coordinates, numbers, dates and sentences are refused', () => {
    const d = decoder('nmea');
    rejects(d, nmea('GPGGA,123519,48x7.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), 'nmea: malformed latitude "48x7.038,N"');
    rejects(d, nmea('GPGGA,123519,4807.038,Q,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), 'nmea: malformed latitude "4807.038,Q"');
    rejects(d, nmea('GPGGA,123519,4867.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), /malformed latitude/);
    rejects(d, nmea('GPGGA,123519,9107.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), /malformed latitude/);
    rejects(d, nmea('GPRMC,123519,A,4807.038,N,,E,022.4,084.4,230394,003.1,W'), 'nmea: malformed longitude ",E"');
    rejects(d, nmea('GPGGA,123519,4807.038,N,01131.000,E,1,many,0.9,545.4,M,46.9,M,,'), 'nmea: satellites "many" is not a number');
    rejects(d, nmea('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,300294,003.1,W'), 'nmea: malformed date "300294"');
    rejects(d, nmea('GPRMC,127519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W'), 'nmea: malformed time "127519"');
    rejects(d, nmea('GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W'), 'nmea: RMC status "X" is neither A nor V');
    rejects(d, nmea('GPGGA,123519,4807.038,N'), 'nmea: GGA sentence has 3 fields, expected at least 9');
    rejects(d, 'GPGGA,123519', 'nmea: a sentence starts with $, got "GPGGA,12"');
    rejects(d, BAD_UTF8, 'nmea: not valid UTF-8');
  });

  test('a leap day is a date', () => {
    const f = decoder('nmea')(nmea('GPRMC,000000,A,4807.038,N,01131.000,E,0,0,290224,,'));
    assert.equal(f.timestamp, Date.parse('2024-02-29T00:00:00Z'));
  });

  test('a field no sentence gives is a profile mistake, at creation', () => {
    assert.throws(() => decoder('nmea', [field('sats')]), /nmea: no sentence gives "sats"/);
  });
});

describe('regex', () => {
  const pattern = /^T(?<temperature>-?[\d.]+) H(?<humidity>\d+)(?: S(?<state>\w+))?$/;

  test('without fields: each named group that matched, numbers as numbers', () => {
    const d = decoder('regex', [], { pattern });
    assert.deepEqual(readings(d('T-4.5 H40 Sok')), { temperature: [-4.5, null], humidity: [40, null], state: ['ok', null] });
    assert.deepEqual(readings(d('T21 H40')), { temperature: [21, null], humidity: [40, null] });
  });

  test('fields choose groups (default: the name), with units and scaling', () => {
    const d = decoder('regex', [field('t', { group: 'temperature', unit: 'C', add: 273.15 }), field('humidity', { unit: '%' })], { pattern });
    assert.deepEqual(readings(d('T20 H40')), { t: [293.15, 'C'], humidity: [40, '%'] });
  });

  test('no match, or a listed group that did not match, is refused', () => {
    const d = decoder('regex', [field('state')], { pattern });
    rejects(d, 'hello', `regex: frame does not match ${pattern}`);
    rejects(d, 'T20 H40', 'regex: group "state" did not match');
    rejects(d, BAD_UTF8, 'regex: not valid UTF-8');
  });

  test('a g or y flag does not carry state from one frame to the next', () => {
    const d = decoder('regex', [], { pattern: /v=(?<v>\d+)/g });
    assert.deepEqual(readings(d('v=1')), { v: [1, null] });
    assert.deepEqual(readings(d('v=2')), { v: [2, null] });
  });

  test('profile mistakes throw at creation', () => {
    assert.throws(() => decoder('regex'), /regex: options.pattern is required/);
    assert.throws(() => decoder('regex', [], { pattern: /\d+/ }), /has no named groups/);
    assert.throws(() => decoder('regex', [field('x')], { pattern }), /regex: the pattern has no group "x" \(it has: temperature, humidity, state\)/);
  });
});

describe('hex', () => {
  // u8 0x7F, i16 BE -2, u16 LE 0x1234, f32 BE 1.5, i8 -1, u32 BE, i32 LE -5, f64 LE 0.25
  const frame = Buffer.alloc(28);
  frame.writeUInt8(0x7f, 0);
  frame.writeInt16BE(-2, 1);
  frame.writeUInt16LE(0x1234, 3);
  frame.writeFloatBE(1.5, 5);
  frame.writeInt8(-1, 9);
  frame.writeUInt32BE(0xdeadbeef, 10);
  frame.writeInt32LE(-5, 14);
  frame.writeDoubleLE(0.25, 18);
  const fields = [
    field('a', { offset: 0, type: 'u8' }),
    field('b', { offset: 1, type: 'i16' }),
    field('c', { offset: 3, type: 'u16', endian: 'little' }),
    field('power', { offset: 5, type: 'f32', unit: 'W' }),
    field('e', { offset: 9, type: 'i8' }),
    field('f', { offset: 10, type: 'u32' }),
    field('g', { offset: 14, type: 'i32', endian: 'little' }),
    field('h', { offset: 18, type: 'f64', endian: 'little', scale: 4, add: 1 }),
  ];
  const want = { a: [127, null], b: [-2, null], c: [0x1234, null], power: [1.5, 'W'], e: [-1, null], f: [0xdeadbeef, null], g: [-5, null], h: [2, null] };

  test('binary frames: every type, both byte orders, units and scaling', () => {
    assert.deepEqual(readings(decoder('hex', fields)(frame)), want);
  });

  test('text frames: hex digits, whitespace allowed, either case', () => {
    const text = frame.toString('hex').toUpperCase().replace(/(..)/g, '$1 ');
    assert.deepEqual(readings(decoder('hex', fields, { input: 'text' })(`${text}\r`)), want);
  });

  test('a frame too short for a field is refused, naming it', () => {
    const d = decoder('hex', [field('v', { offset: 0, type: 'u16' }), field('power', { offset: 4, type: 'f32' })]);
    rejects(d, Buffer.alloc(6), 'hex: frame of 6 bytes is too short for field "power" (f32 at offset 4)');
  });

  test('odd or non-hex text is refused', () => {
    const d = decoder('hex', [field('v', { offset: 0, type: 'u8' })], { input: 'text' });
    rejects(d, '0A1', 'hex: odd number of hex digits (3)');
    rejects(d, '0A 1G', 'hex: "G" is not a hex digit');
    rejects(d, BAD_UTF8, 'hex: not valid UTF-8');
  });

  test('a float that is NaN or infinite is refused', () => {
    const d = decoder('hex', [field('x', { offset: 0, type: 'f32' })]);
    const nan = Buffer.alloc(4);
    nan.writeFloatBE(NaN);
    rejects(d, nan, 'hex: x is not a finite number (NaN)');
    const inf = Buffer.alloc(4);
    inf.writeFloatBE(Infinity);
    rejects(d, inf, 'hex: x is not a finite number (Infinity)');
  });

  test('fields without offset or type are a profile mistake', () => {
    assert.throws(() => decoder('hex'), /hex: fields are required/);
    assert.throws(() => decoder('hex', [field('x', { offset: 0 })]), /hex: field "x" needs an offset and a type/);
  });
});

describe('createDecoder', () => {
  test('modbus is not frame-based', () => {
    assert.throws(() => decoder('modbus'), /modbus is not frame-based/);
  });

  test('a frame over the framing limit (cut, no delimiter) is refused whatever the format', () => {
    const long = Buffer.alloc(MAX_FRAME_BYTES + 1, 0x31);
    rejects(decoder('csv', [field('t')]), long, `frame of ${MAX_FRAME_BYTES + 1} bytes is over the ${MAX_FRAME_BYTES}-byte limit (no delimiter in time)`);
    const atLimit = Buffer.alloc(MAX_FRAME_BYTES, 0x20);
    atLimit.write('{"t":1}');
    assert.deepEqual(readings(decoder('json')(atLimit)), { t: [1, null] }, 'a frame of exactly the limit is whole');
  });
});
