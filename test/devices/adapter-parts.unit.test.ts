// The parts every serial adapter shares: finding the port, encoding commands, turning
// Modbus registers into readings, polling, and a decoded frame into events.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeCommand } from '../../src/devices/command-encoding.js';
import { FrameEventMaker } from '../../src/devices/frame-events.js';
import { fieldValue, planReads } from '../../src/devices/modbus-registers.js';
import { Poller, SILENT_AFTER } from '../../src/devices/poller.js';
import { findPort, matchPorts, type PortInfo } from '../../src/devices/port-finder.js';
import type { DeviceProfile, SerialSpec } from '../../src/devices/types.js';
import { field } from '../helpers/devices.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const serial = (o: Partial<SerialSpec>): SerialSpec => ({
  path: null, match: null, baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, xon: false, xoff: false, ...o,
});

const PORTS: PortInfo[] = [
  { path: '/dev/ttyUSB1', vendorId: '0403', productId: '6001', serialNumber: 'B22', manufacturer: 'FTDI' } as PortInfo,
  { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'A10K', manufacturer: 'FTDI' } as PortInfo,
  { path: '/dev/ttyACM0', vendorId: '2341', productId: '0043', serialNumber: '7573', manufacturer: 'Arduino (www.arduino.cc)' } as PortInfo,
];

describe('finding the port', () => {
  it('matches USB ids case-insensitively, serial numbers exactly, first path first', () => {
    assert.deepEqual(matchPorts(PORTS, { vendorId: '0403' }).map((p) => p.path), ['/dev/ttyUSB0', '/dev/ttyUSB1']);
    assert.deepEqual(matchPorts(PORTS, { vendorId: '0403', serialNumber: 'B22' }).map((p) => p.path), ['/dev/ttyUSB1']);
    assert.deepEqual(matchPorts(PORTS, { vendorId: '2341', productId: '0043' }).map((p) => p.path), ['/dev/ttyACM0']);
    assert.deepEqual(matchPorts(PORTS, { productId: '6001', serialNumber: 'a10k' }), []);
    assert.deepEqual(matchPorts([{ path: '/dev/ttyUSB3', vendorId: '10C4', productId: 'EA60' } as PortInfo], { vendorId: '10c4', productId: 'ea60' }).map((p) => p.path), ['/dev/ttyUSB3']);
  });

  it('finds a path that exists, and says why when it does not', async () => {
    const tmp = tempDir();
    const link = join(tmp.dir, 'usb-FTDI_A10K-if00-port0');
    assert.deepEqual(await findPort(serial({ path: link })), { missing: `${link} does not exist` });
    writeFileSync(link, '');
    assert.deepEqual(await findPort(serial({ path: link })), { path: link });
    assert.deepEqual(await findPort(serial({ match: { serialNumber: 'A10K' } }), async () => PORTS), { path: '/dev/ttyUSB0' });
    const missing = await findPort(serial({ match: { serialNumber: 'nope' } }), async () => PORTS);
    assert.ok('missing' in missing && missing.missing.includes('"serialNumber":"nope"'));
    const unlisted = await findPort(serial({ match: { vendorId: '0403' } }), async () => { throw new Error('spawn udevadm ENOENT'); });
    assert.deepEqual(unlisted, { missing: 'cannot list serial ports to match {"vendorId":"0403"}: spawn udevadm ENOENT' });
    tmp.cleanup();
  });
});

describe('command encoding', () => {
  it('fills {payload} with the text sent and {payload.x} with its JSON fields', () => {
    assert.equal(encodeCommand('{payload}\n', Buffer.from('RESET')).toString(), 'RESET\n');
    assert.equal(encodeCommand('SET {payload.relay} {payload.on}\r\n', Buffer.from('{"relay":2,"on":true}')).toString(), 'SET 2 true\r\n');
    assert.equal(encodeCommand('X{payload.a.b}', Buffer.from('{"a":{"b":"deep"}}')).toString(), 'Xdeep');
    assert.equal(encodeCommand('[{payload.missing}]', Buffer.from('{"a":1}')).toString(), '[]', 'a missing field is empty');
    assert.equal(encodeCommand('[{payload.a}]', Buffer.from('not json')).toString(), '[]');
    assert.equal(encodeCommand('[{payload.__proto__}]', Buffer.from('{"a":1}')).toString(), '[]', 'never the prototype');
  });
});

describe('Modbus registers', () => {
  it('reads one span per table when it fits, else one read per field', () => {
    const fields = [
      field({ name: 'voltage', register: 0, table: 'input', type: 'f32' }),
      field({ name: 'power', register: 12, table: 'input', type: 'f32' }),
      field({ name: 'setpoint', register: 5, table: 'holding', type: 'u16' }),
    ];
    assert.deepEqual(planReads(fields).map((r) => [r.table, r.address, r.count, r.fields.length]), [['holding', 5, 1, 1], ['input', 0, 14, 2]]);
    const far = [field({ name: 'a', register: 0, table: 'input', type: 'u16' }), field({ name: 'b', register: 342, table: 'input', type: 'u32' })];
    assert.deepEqual(planReads(far).map((r) => [r.address, r.count]), [[0, 1], [342, 2]]);
  });

  it('decodes 16- and 32-bit types in either word order, then scales', () => {
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(230.5);
    const [hi, lo] = [f32.readUInt16BE(0), f32.readUInt16BE(2)];
    assert.equal(fieldValue(field({ name: 'v', register: 10, type: 'f32' }), [hi, lo], 10), 230.5);
    assert.equal(fieldValue(field({ name: 'v', register: 10, type: 'f32', wordOrder: 'little' }), [lo, hi], 10), 230.5);
    assert.equal(fieldValue(field({ name: 'i', register: 1, type: 'i16' }), [0, 0xfffe], 0), -2);
    assert.equal(fieldValue(field({ name: 'e', register: 0, type: 'u32', scale: 0.01 }), [0x0001, 0x0000], 0), 655.36);
    assert.equal(fieldValue(field({ name: 't', register: 0, type: 'u16', scale: 0.1, add: -40 }), [650], 0), 25);
    assert.throws(() => fieldValue(field({ name: 'x', register: 4, type: 'u32' }), [1, 2, 3, 4], 0), /register 4 of "x" is not in the answer/);
  });
});

describe('polling', () => {
  it('reports a device silent after SILENT_AFTER unanswered questions, and never asks twice at once', async () => {
    let asked = 0;
    let silent = 0;
    const poller = new Poller({ everyMs: 20, write: null, timeoutMs: 10 }, { ask: () => void asked++, silent: (n) => void (silent = n) });
    try {
      await waitFor(() => silent === SILENT_AFTER, { message: 'reported silent' });
      assert.ok(poller.timeouts >= SILENT_AFTER);
      assert.ok(asked >= poller.timeouts && asked <= poller.timeouts + 1, 'one open question at most');
    } finally {
      poller.stop();
    }
  });

  it('an answer resets the count of misses', async () => {
    let silent = 0;
    let asked = 0;
    let poller: Poller | null = null;
    poller = new Poller({ everyMs: 15, write: null, timeoutMs: 10 }, {
      // Answers every other question: never three misses in a row.
      ask: () => {
        asked++;
        if (asked % 2 === 0) queueMicrotask(() => poller?.answered());
      },
      silent: () => void silent++,
    });
    try {
      await waitFor(() => asked >= 12, { message: 'a dozen questions' });
      assert.equal(silent, 0);
    } finally {
      poller.stop();
    }
  });
});

describe('frame events', () => {
  const profile = { id: 'gps-1', publish: 'sensors/{device}/{sensor}' } as DeviceProfile;

  it('makes one DeviceData event per reading, with units, the frame time and its location', () => {
    const maker = new FrameEventMaker(profile);
    const now = Date.parse('2026-11-26T10:00:00.000Z');
    const out = maker.readings({ readings: [{ sensor: 'speed', value: 2.5, unit: 'kn' }, { sensor: 'course', value: 84.4, unit: 'deg' }],
      location: { lat: 48.1173, lon: 11.5167, alt: 545.4 }, timestamp: Date.parse('2026-11-26T09:59:59.000Z') }, now);
    assert.ok(out.ok);
    assert.deepEqual(out.readings.map((r) => r.topic), ['sensors/gps-1/speed', 'sensors/gps-1/course']);
    const [speed] = out.readings;
    assert.equal(speed.draft.type, 'DeviceData');
    assert.equal(speed.draft.source, 'gps-1');
    assert.deepEqual(speed.draft.sensor && { type: speed.draft.sensor.type, value: speed.draft.sensor.value, unit: speed.draft.sensor.unit }, { type: 'speed', value: 2.5, unit: 'kn' });
    assert.equal(speed.draft.timestamp, '2026-11-26T09:59:59.000Z');
    assert.deepEqual(speed.draft.location, { lat: 48.1173, lon: 11.5167, alt: 545.4 });
    assert.deepEqual(JSON.parse(speed.payload.toString()), { value: 2.5, unit: 'kn', ts: '2026-11-26T09:59:59.000Z', location: { lat: 48.1173, lon: 11.5167, alt: 545.4 } });
  });

  it('status events say online or offline, with the reason', () => {
    const d = new FrameEventMaker(profile).status('offline', 'unplugged', 0);
    assert.equal(d.type, 'DeviceStatus');
    assert.deepEqual(d.payload, { state: 'offline', reason: 'unplugged' });
    assert.deepEqual(d.device, { id: 'gps-1' });
  });
});
