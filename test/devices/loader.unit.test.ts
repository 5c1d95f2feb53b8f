// Device profiles (SPEC §6) → DeviceProfiles with every default, and every mistake as
// `file:line: key: message` (`edgebus check` reporting them: cli/check.e2e.test.ts).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatIssue } from '../../src/config/validate.js';
import { listDeviceFiles, loadDeviceFile, loadDevicesDir } from '../../src/devices/loader.js';
import type { DeviceProfile } from '../../src/devices/types.js';
import { field } from '../helpers/devices.js';
import { issueChecks } from '../helpers/issues.js';
import { ROOT } from '../helpers/paths.js';
import { tempDirFor } from '../helpers/tmp.js';

const EXAMPLES = join(ROOT, 'devices');
const FILE = '/devices/test.yaml';

const { issuesOf, assertOneIssue } = issueChecks(FILE, loadDeviceFile);

function loadOne(lines: string[]): DeviceProfile {
  const r = loadDeviceFile(FILE, lines.join('\n') + '\n');
  assert.deepEqual(r.issues.map(formatIssue), []);
  assert.ok(r.profile);
  return r.profile;
}

/** A valid head: id and port; tests add format and the rest. */
const HEAD = ['id: dev-1', 'serial: { path: /dev/ttyUSB0 }'];

describe('example profiles', () => {
  test('every file in devices/ loads with no issues; README.md is not read', () => {
    const files = listDeviceFiles(EXAMPLES);
    assert.deepEqual(files.map((f) => f.slice(EXAMPLES.length + 1)), ['arduino.yaml', 'energy-meter.yaml', 'gps.yaml', 'weather-station.yaml']);
    for (const file of files) {
      const r = loadDeviceFile(file);
      assert.deepEqual(r.issues.map(formatIssue), [], file);
      assert.equal(r.profile?.file, file);
    }
    const { profiles, issues } = loadDevicesDir(EXAMPLES);
    assert.deepEqual(issues, []);
    assert.deepEqual(profiles.map((p) => p.id), ['arduino-1', 'energy-meter-1', 'gps-1', 'weather-1']);
  });

  test('the weather station: CSV columns in order, on lines', () => {
    const p = loadDeviceFile(join(EXAMPLES, 'weather-station.yaml')).profile!;
    assert.equal(p.format, 'csv');
    assert.deepEqual(p.framing, { kind: 'readline', delimiter: '\n' });
    assert.deepEqual(p.fields.map((f) => [f.name, f.unit, f.column]), [['temperature', 'C', 0], ['humidity', '%', 1], ['pressure', 'hPa', 2]]);
    assert.match(p.serial.path!, /^\/dev\/serial\/by-id\//);
    assert.equal(p.serial.match, null);
    assert.equal(p.poll, null);
  });

  test('the GPS: NMEA at 9600 on CRLF lines', () => {
    const p = loadDeviceFile(join(EXAMPLES, 'gps.yaml')).profile!;
    assert.equal(p.format, 'nmea');
    assert.equal(p.serial.baudRate, 9600);
    assert.deepEqual(p.framing, { kind: 'readline', delimiter: '\r\n' });
    assert.deepEqual(p.fields, []);
  });

  test('the Arduino: JSON at 115200, matched by USB ids, takes commands', () => {
    const p = loadDeviceFile(join(EXAMPLES, 'arduino.yaml')).profile!;
    assert.equal(p.format, 'json');
    assert.equal(p.serial.baudRate, 115200);
    assert.equal(p.serial.path, null);
    assert.deepEqual(p.serial.match, { vendorId: '2341', productId: '0043' });
    assert.deepEqual(p.commands, { encode: '{payload}\n' });
    assert.deepEqual(p.fields.map((f) => [f.name, f.path]), [['temperature', 'temperature'], ['soil-moisture', 'soil.moisture']]);
  });

  test('the energy meter: Modbus RTU 9600 8E1, input registers polled every 10 s', () => {
    const p = loadDeviceFile(join(EXAMPLES, 'energy-meter.yaml')).profile!;
    assert.equal(p.format, 'modbus');
    assert.deepEqual([p.serial.baudRate, p.serial.dataBits, p.serial.parity, p.serial.stopBits], [9600, 8, 'even', 1]);
    assert.equal(p.options.unitId, 1);
    assert.deepEqual(p.poll, { everyMs: 10_000, write: null, timeoutMs: 2_000 });
    assert.deepEqual(p.fields, [
      field({ name: 'voltage', unit: 'V', register: 0, table: 'input', type: 'f32' }),
      field({ name: 'current', unit: 'A', register: 6, table: 'input', type: 'f32' }),
      field({ name: 'power', unit: 'W', register: 12, table: 'input', type: 'f32' }),
      field({ name: 'energy', unit: 'kWh', register: 342, table: 'input', type: 'u32', scale: 0.01 }),
    ]);
  });
});

describe('defaults', () => {
  test('a minimal profile is filled in completely', () => {
    const p = loadOne([...HEAD, 'format: csv', 'fields: [temperature, { name: humidity, unit: "%", column: 3, scale: 0.1, add: -1 }]']);
    assert.deepEqual(p, {
      id: 'dev-1',
      description: null,
      file: FILE,
      serial: { path: '/dev/ttyUSB0', match: null, baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false },
      framing: { kind: 'readline', delimiter: '\n' },
      format: 'csv',
      options: { separator: ',', header: true, assign: '=', pattern: null, input: 'binary', requireChecksum: false, unitId: 1 },
      fields: [field({ name: 'temperature', column: 0 }), field({ name: 'humidity', unit: '%', column: 3, scale: 0.1, add: -1 })],
      publish: 'sensors/{device}/{sensor}',
      commands: null,
      poll: null,
    });
  });

  test('serial settings as given', () => {
    const p = loadOne(['id: d', 'serial:', '  match: { vendorId: "0403", serialNumber: "A10K" }', '  baudRate: 19200', '  dataBits: 7', '  parity: odd', '  stopBits: 1.5', '  rtscts: true', '  xon: true', 'format: json']);
    assert.deepEqual(p.serial, { path: null, match: { vendorId: '0403', serialNumber: 'A10K' }, baudRate: 19200, dataBits: 7, parity: 'odd', stopBits: 1.5, rtscts: true, xon: true, xoff: false });
    assert.deepEqual(p.fields, [], 'json without fields: every key');
  });

  test('framings: hex delimiters become bytes, durations ms, regexes compiled', () => {
    const framing = (f: string) => loadOne([...HEAD, 'format: hex', `framing: ${f}`, 'fields: [{ name: a, offset: 0, type: u8 }]']).framing;
    assert.deepEqual(framing('{ delimiter: { hex: "7E" }, includeDelimiter: true }'), { kind: 'delimiter', delimiter: Buffer.from([0x7e]), includeDelimiter: true });
    assert.deepEqual(framing('{ delimiter: { hex: "0d 0A" } }'), { kind: 'delimiter', delimiter: Buffer.from([0x0d, 0x0a]), includeDelimiter: false });
    assert.deepEqual(framing('{ delimiter: ";" }'), { kind: 'delimiter', delimiter: Buffer.from(';'), includeDelimiter: false });
    assert.deepEqual(framing('{ length: 8 }'), { kind: 'length', length: 8 });
    assert.deepEqual(framing('{ interByteTimeout: 50ms }'), { kind: 'interByteTimeout', ms: 50, maxBufferSize: 256 });
    assert.deepEqual(framing('{ interByteTimeout: 20, maxBufferSize: 64 }'), { kind: 'interByteTimeout', ms: 20, maxBufferSize: 64 });
    const re = framing('{ regex: "[\\r\\n]+" }');
    assert.equal(re.kind, 'regex');
    assert.ok(re.kind === 'regex' && re.regex instanceof RegExp && re.regex.test('\r\n'));
  });

  test('each format fills its own field keys; others stay null', () => {
    const kv = loadOne([...HEAD, 'format: kv', 'options: { assign: ":" }', 'fields: [t, { name: h, key: HUM }]']);
    assert.deepEqual(kv.fields.map((f) => [f.key, f.column, f.path, f.group]), [['t', null, null, null], ['HUM', null, null, null]]);
    assert.equal(kv.options.assign, ':');
    const hex = loadOne([...HEAD, 'format: hex', 'options: { input: text }', 'fields: [{ name: t, offset: 2, type: i16, endian: little }]']);
    assert.deepEqual(hex.fields, [field({ name: 't', offset: 2, type: 'i16', endian: 'little' })]);
    assert.equal(hex.options.input, 'text');
    const modbus = loadOne([...HEAD, 'format: modbus', 'poll: { every: 1s }', 'fields: [{ name: t, register: 3 }, { name: u, register: 4, type: i32, wordOrder: little }]']);
    assert.deepEqual(modbus.fields, [field({ name: 't', register: 3, type: 'u16' }), field({ name: 'u', register: 4, type: 'i32', wordOrder: 'little' })]);
    assert.equal(modbus.framing.kind, 'interByteTimeout', 'modbus frames itself: the RTU silence, for the record');
    const nmea = loadOne([...HEAD, 'format: nmea', 'fields: [{ name: speed, unit: kn }]']);
    assert.deepEqual(nmea.fields, [field({ name: 'speed', unit: 'kn' })]);
  });

  test('regex: the pattern compiled, each field a named group (its name by default)', () => {
    const p = loadOne([...HEAD, 'format: regex', 'options: { pattern: "T=(?<temperature>[-\\\\d.]+) H=(?<hum>\\\\d+)" }', 'fields: [temperature, { name: humidity, group: hum }]']);
    assert.ok(p.options.pattern instanceof RegExp);
    assert.equal(p.options.pattern.exec('T=21.5 H=40')?.groups?.hum, '40');
    assert.deepEqual(p.fields.map((f) => f.group), ['temperature', 'hum']);
  });

  test('poll: the timeout is half of every, at most 5 s; write as text or hex bytes', () => {
    assert.deepEqual(loadOne([...HEAD, 'format: csv', 'fields: [t]', 'poll: { every: 4s, write: "READ\\n" }']).poll, { everyMs: 4_000, write: Buffer.from('READ\n'), timeoutMs: 2_000 });
    assert.deepEqual(loadOne([...HEAD, 'format: csv', 'fields: [t]', 'poll: { every: 1m, write: { hex: "01 03" } }']).poll, { everyMs: 60_000, write: Buffer.from([1, 3]), timeoutMs: 5_000 });
    assert.deepEqual(loadOne([...HEAD, 'format: csv', 'fields: [t]', 'poll: { every: 100ms, timeout: 80ms }']).poll, { everyMs: 100, write: null, timeoutMs: 80 });
  });

  test('description, publish and commands as given', () => {
    const p = loadOne([...HEAD, 'description: Roof', 'format: json', 'publish: "site/{sensor}/{device}"', 'commands: { encode: "CMD {payload}\\r\\n" }']);
    assert.deepEqual([p.description, p.publish, p.commands], ['Roof', 'site/{sensor}/{device}', { encode: 'CMD {payload}\r\n' }]);
  });

  test('the file is made absolute', () => {
    const r = loadDeviceFile('devices/x.yaml', [...HEAD, 'format: json', ''].join('\n'));
    assert.equal(r.profile?.file, join(process.cwd(), 'devices/x.yaml'));
  });

  test('a file of comments only holds no profile and is no error', () => {
    assert.deepEqual(loadDeviceFile(FILE, '# switched off\n'), { profile: null, issues: [] });
  });
});

describe('bad profiles give file:line: key: message', () => {
  test('framing: exactly one kind', () => {
    assertOneIssue([...HEAD, 'format: csv', 'framing: { readline: "\\n", length: 4 }'], 4, 'framing',
      /^expected exactly one of readline, delimiter, length, interByteTimeout, regex, got readline and length$/);
    assertOneIssue([...HEAD, 'format: csv', 'framing: {}'], 4, 'framing', /exactly one of .*, got none$/);
    assertOneIssue([...HEAD, 'format: csv', 'framing:', '  length: 4', '  includeDelimiter: true'], 6, 'framing.includeDelimiter', /goes with delimiter, not with length/);
    assertOneIssue([...HEAD, 'format: csv', 'framing: { readline: "\\n", maxBufferSize: 9 }'], 4, 'framing.maxBufferSize', /goes with interByteTimeout/);
  });

  test('framing: bad values', () => {
    assertOneIssue([...HEAD, 'format: csv', 'framing:', '  delimiter: { hex: "7G" }'], 5, 'framing.delimiter.hex', /hex bytes .*"7G"/);
    assertOneIssue([...HEAD, 'format: csv', 'framing:', '  interByteTimeout: soon'], 5, 'framing.interByteTimeout', /duration.*"soon"/);
    assertOneIssue([...HEAD, 'format: csv', 'framing:', '  interByteTimeout: 0ms'], 5, 'framing.interByteTimeout', /longer than 0, got "0ms"/);
    assertOneIssue([...HEAD, 'format: csv', 'framing:', '  regex: "(["'], 5, 'framing.regex', /expected a regular expression, got "\(\["/);
    assertOneIssue([...HEAD, 'format: csv', 'framing:', '  length: 0'], 5, 'framing.length', /expected a number >= 1, got 0/);
  });

  test('modbus has no framing, needs a poll without write, and fields with a register', () => {
    const modbus = [...HEAD, 'format: modbus'];
    assertOneIssue([...modbus, 'framing: { readline: "\\n" }', 'poll: { every: 1s }', 'fields: [{ name: v, register: 0 }]'], 4, 'framing', /format modbus frames its own messages/);
    assertOneIssue([...modbus, 'fields: [{ name: v, register: 0 }]'], 3, 'poll', /format modbus needs a poll/);
    assertOneIssue([...modbus, 'poll:', '  every: 1s', '  write: "X"', 'fields: [{ name: v, register: 0 }]'], 6, 'poll.write', /modbus reads its registers itself/);
    assertOneIssue([...modbus, 'poll: { every: 1s }', 'fields:', '  - { name: v, register: 0 }', '  - { name: w, type: u32 }'], 7, 'fields[1].register', /modbus fields need register/);
    assertOneIssue([...modbus, 'poll: { every: 1s }', 'fields:', '  - { name: v, register: 0, type: u8 }'], 6, 'fields[0].type', /expected one of u16, i16, u32, i32, f32 .*"u8"/);
    assertOneIssue([...modbus, 'poll: { every: 1s }', 'fields:', '  - { name: v, register: 65535, type: f32 }'], 6, 'fields[0].register', /runs past register 65535/);
    assertOneIssue([...modbus, 'poll: { every: 1s }'], 3, 'fields', /format modbus needs fields/);
    assertOneIssue([...modbus, 'poll: { every: 1s }', 'options: { unitId: 248 }', 'fields: [{ name: v, register: 0 }]'], 5, 'options.unitId', /<= 247, got 248/);
  });

  test('hex fields need offset and type, within a fixed-length frame', () => {
    const hex = [...HEAD, 'format: hex'];
    assertOneIssue([...hex, 'fields:', '  - { name: a, offset: 0, type: u8 }', '  - { name: b, type: u16 }'], 6, 'fields[1].offset', /^hex fields need offset and type$/);
    assertOneIssue([...hex, 'fields:', '  - { name: a, offset: 0, type: u8 }', '  - { name: b, offset: 1 }'], 6, 'fields[1].type', /^hex fields need offset and type$/);
    assertOneIssue([...hex, 'fields:', '  - a'], 5, 'fields[0].offset', /hex fields need offset and type/);
    assertOneIssue([...hex, 'framing: { length: 4 }', 'fields:', '  - { name: a, offset: 2, type: u32 }'], 6, 'fields[0].offset', /a u32 at offset 2 needs 6 bytes, got frames of 4/);
    assertOneIssue([...hex, 'fields:', '  - { name: a, offset: 0, type: u64 }'], 5, 'fields[0].type', /expected one of u8, .*f64, got "u64"/);
  });

  test('regex: a pattern that compiles, with named groups the fields name', () => {
    assertOneIssue([...HEAD, 'format: regex', 'options:', '  pattern: "T=([-\\\\d.]+)"'], 5, 'options.pattern', /^named groups expected, e\.g\. \(\?<temperature>\[-\\d\.\]\+\)/);
    assertOneIssue([...HEAD, 'format: regex', 'options:', '  pattern: "(?<t>"'], 5, 'options.pattern', /expected a regular expression, got "\(\?<t>" \(Invalid regular expression/);
    assertOneIssue([...HEAD, 'format: csv'], 3, 'fields', /csv: fields are required/);
    assertOneIssue([...HEAD, 'format: nmea', 'fields: [speed, warp]'], 4, 'fields', /warp/);
    assertOneIssue([...HEAD, 'format: regex', 'fields: [t]'], 3, 'options.pattern', /format regex needs a pattern with named groups/);
    assertOneIssue([...HEAD, 'format: regex', 'options: { pattern: "(?<t>\\\\d+)" }', 'fields:', '  - t', '  - { name: h, group: hum }'], 7, 'fields[1].group', /named group of options.pattern \(t\), got "hum"/);
    assertOneIssue([...HEAD, 'format: regex', 'options: { pattern: "(?<t>\\\\d+)" }', 'fields:', '  - temperature'], 6, 'fields[0].name', /named group .*"temperature"/);
  });

  test('options and field keys belong to the format', () => {
    assertOneIssue([...HEAD, 'format: json', 'options:', '  separator: ";"'], 5, 'options.separator', /not an option of format json \(format json takes no options\)/);
    assertOneIssue([...HEAD, 'format: csv', 'options:', '  assign: ":"'], 5, 'options.assign', /not an option of format csv \(format csv takes: separator, header\)/);
    assertOneIssue([...HEAD, 'format: csv', 'options:', '  sep: ";"'], 5, 'options.sep', /unknown key \(format csv takes: separator, header\)/);
    assertOneIssue([...HEAD, 'format: json', 'fields:', '  - { name: t, path: a.b }', '  - { name: h, column: 2 }'], 6, 'fields[1].column', /not a key of format json fields \(expected one of: name, unit, scale, add, path\)/);
    assertOneIssue([...HEAD, 'format: nmea', 'fields:', '  - { name: t, offset: 2 }'], 5, 'fields[0].offset', /not a key of format nmea fields/);
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - { name: t, colum: 2 }'], 5, 'fields[0].colum', /unknown key \(expected one of: name, unit, scale, add, column\)/);
  });

  test('field names: unique, one topic level', () => {
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - t', '  - h', '  - { name: t, unit: C }'], 7, 'fields[2].name', /duplicate field name "t" \(also fields\[0\]\)/);
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - "a/b"'], 5, 'fields[0]', /MQTT topic level.*"a\/b"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - { name: "t#" }'], 5, 'fields[0].name', /MQTT topic level.*"t#"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - { name: "" }'], 5, 'fields[0].name', /non-empty/);
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - { unit: C }'], 5, 'fields[0]', /missing required key "name"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields:', '  - 5'], 5, 'fields[0]', /expected a field name or a mapping with name, got 5/);
  });

  test('serial: exactly one of path and match; USB ids quoted', () => {
    assertOneIssue(['id: d', 'serial:', '  path: /dev/ttyUSB0', '  match: { vendorId: "0403" }', 'format: csv'], 2, 'serial', /expected exactly one of path, match, got path and match/);
    assertOneIssue(['id: d', 'serial: { baudRate: 9600 }', 'format: csv'], 2, 'serial', /got neither/);
    assertOneIssue(['id: d', 'serial:', '  match: {}', 'format: csv'], 3, 'serial.match', /at least one of vendorId, productId, serialNumber, manufacturer/);
    assertOneIssue(['id: d', 'serial:', '  match:', '    vendorId: 0403', 'format: csv'], 4, 'serial.match.vendorId', /quoted string .*got 403/);
    assertOneIssue(['id: d', 'serial:', '  match: { vendorId: "04031" }', 'format: csv'], 3, 'serial.match.vendorId', /4 hex digits.*"04031"/);
    assertOneIssue([...HEAD, 'format: csv', 'serial2: {}'], 4, 'serial2', /unknown key/);
  });

  test('serial: bad settings name the value and the choices', () => {
    const serial = (line: string) => ['id: d', 'serial:', '  path: /dev/ttyUSB0', line, 'format: csv'];
    assertOneIssue(serial('  parity: evn'), 4, 'serial.parity', /expected one of none, even, odd, mark, space, got "evn"/);
    assertOneIssue(serial('  dataBits: 9'), 4, 'serial.dataBits', /expected one of 5, 6, 7, 8, got 9/);
    assertOneIssue(serial('  stopBits: 3'), 4, 'serial.stopBits', /expected one of 1, 1.5, 2, got 3/);
    assertOneIssue(serial('  baudRate: fast'), 4, 'serial.baudRate', /expected integer, got "fast"/);
    assertOneIssue(serial('  flow: true'), 4, 'serial.flow', /unknown key \(expected one of: path, match, baudRate, .*xoff\)/);
  });

  test('id and format', () => {
    assertOneIssue(['id: "a/b"', 'serial: { path: /dev/x }', 'format: csv'], 1, 'id', /letters, digits, _ \. and - only.*"a\/b"/);
    assertOneIssue(['serial: { path: /dev/x }', 'format: csv'], 1, '', /missing required key "id"/);
    assertOneIssue([...HEAD], 1, '', /missing required key "format"/);
    assertOneIssue([...HEAD, 'format: xml'], 3, 'format', /expected one of json, csv, kv, nmea, regex, hex, modbus, got "xml"/);
  });

  test('poll: every at least 100ms, timeout shorter than every', () => {
    assertOneIssue([...HEAD, 'format: csv', 'fields: [t]', 'poll:', '  every: 50ms'], 6, 'poll.every', /expected at least 100ms, got "50ms"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields: [t]', 'poll:', '  every: often'], 6, 'poll.every', /duration.*"often"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields: [t]', 'poll:', '  every: 1s', '  timeout: 1s'], 7, 'poll.timeout', /expected less than poll.every \("1s"\), got "1s"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields: [t]', 'poll: { timeout: 1s }'], 5, 'poll', /missing required key "every"/);
    assertOneIssue([...HEAD, 'format: csv', 'fields: [t]', 'poll:', '  every: 1s', '  write: { hex: "zz" }'], 7, 'poll.write.hex', /hex bytes/);
  });

  test('publish: {sensor} and {device} only', () => {
    assertOneIssue([...HEAD, 'format: csv', 'publish: "sensors/{device}"'], 4, 'publish', /expected a topic template with \{sensor\}.*got "sensors\/\{device\}"/);
    assertOneIssue([...HEAD, 'format: csv', 'publish: "s/{site}/{sensor}"'], 4, 'publish', /unknown placeholder \{site\}: only \{device\} and \{sensor\}/);
    assertOneIssue([...HEAD, 'format: csv', 'publish: "s/+/{sensor}"'], 4, 'publish', /without \+ or #/);
  });

  test('several problems: one line each, in file order', () => {
    const issues = issuesOf(['id: d', 'serial: { path: /dev/x }', 'format: regex', 'framing: {}', 'options: { pattern: "x" }', 'publish: a/b']);
    assert.deepEqual(issues, [
      `${FILE}:4: framing: expected exactly one of readline, delimiter, length, interByteTimeout, regex, got none`,
      `${FILE}:5: options.pattern: named groups expected, e.g. (?<temperature>[-\\d.]+), got "x"`,
      `${FILE}:6: publish: expected a topic template with {sensor} (e.g. "sensors/{device}/{sensor}"), got "a/b"`,
    ]);
  });

  test('YAML that is not a profile', () => {
    const syntax = issuesOf([...HEAD, 'format: csv', 'fields: [a, b']);
    assert.ok(syntax.length >= 1);
    assert.match(syntax[0], /^\/devices\/test\.yaml:\d+: /);
    assert.match(issuesOf(['id: a', 'id: b'])[0], /^\/devices\/test\.yaml:2: .*[Uu]nique/);
    assert.deepEqual(issuesOf(['- id: a']), [`${FILE}:1: expected a device profile (a mapping with id, serial and format), one per file`]);
    assert.deepEqual(loadDeviceFile('/nonexistent/edgebus/x.yaml').issues.map((i) => [i.line, i.message.split(':')[0]]), [[null, 'cannot read device profile']]);
  });
});

describe('loadDevicesDir', () => {
  test('a missing dir has no profiles and no issues', () => {
    assert.deepEqual(loadDevicesDir('/nonexistent/edgebus/devices'), { profiles: [], issues: [] });
  });

  test('yaml and yml, sorted; the same id in two files is an issue naming both', (t) => {
    const tmpDir = tempDirFor(t);
    const dir = join(tmpDir, 'devices');
    mkdirSync(dir);
    writeFileSync(join(dir, 'b.yml'), '# second\nid: shared\nserial: { path: /dev/b }\nformat: csv\nfields: [t]\n');
    writeFileSync(join(dir, 'a.yaml'), 'id: shared\nserial: { path: /dev/a }\nformat: json\n');
    writeFileSync(join(dir, 'c.yaml'), 'id: other\nserial: { path: /dev/c }\nformat: kv\n');
    writeFileSync(join(dir, 'd.yaml'), 'id: broken\nserial: { path: /dev/d }\nformat: kvv\n');
    writeFileSync(join(dir, 'README.md'), '# not a profile\n');
    const r = loadDevicesDir(dir);
    assert.deepEqual(r.profiles.map((p) => [p.id, p.serial.path]), [['shared', '/dev/a'], ['other', '/dev/c']]);
    assert.deepEqual(r.issues.map(formatIssue), [
      `${join(dir, 'b.yml')}:2: id: duplicate device id "shared" (already used by ${join(dir, 'a.yaml')}:1); this profile is skipped`,
      `${join(dir, 'd.yaml')}:3: format: expected one of json, csv, kv, nmea, regex, hex, modbus, got "kvv"`,
    ]);
  });
});
