// The device simulator (scripts/simulate): its frames against the gateway's own framers and
// decoders, then the program itself on a pty pair — streaming CSV, answering polls, and
// serving Modbus RTU to modbus-serial's client.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import modbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { createFramer } from '../../src/devices/framing.js';
import { createDecoder } from '../../src/devices/formats/index.js';
import { loadDeviceFile } from '../../src/devices/loader.js';
import { FrameError, type DecodedFrame, type DeviceProfile, type FieldSpec } from '../../src/devices/types.js';
import { buildFrames, cannotPlay, garbageFrame, sentSamples } from '../../scripts/simulate/frames.js';
import { DEFAULT_POINT, nmeaChecksum } from '../../scripts/simulate/nmea.js';
import { plausibleRange } from '../../scripts/simulate/values.js';
import { ROOT } from '../helpers/paths.js';
import { openSimEnd, ptyPairFor, type PtyPair, type SimEnd } from '../helpers/pty.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** The package's default export is the client class; its typings say otherwise under NodeNext. */
const ModbusClient = modbusSerial as unknown as new () => ModbusRTU;

const SIM = join(ROOT, 'dist', 'scripts', 'simulate', 'main.js');

function profileOf(yaml: string): DeviceProfile {
  const { profile, issues } = loadDeviceFile('/test/device.yaml', yaml);
  assert.ok(profile, `profile refused: ${JSON.stringify(issues)}`);
  return profile;
}

/** Bytes through the gateway's framer for this framing: the frames it would decode. */
async function cut(profile: DeviceProfile, chunks: Buffer[]): Promise<Buffer[]> {
  const framer = createFramer(profile.framing);
  const frames: Buffer[] = [];
  framer.on('data', (f: Buffer) => frames.push(f));
  const ended = new Promise((r) => framer.once('end', r));
  for (const c of chunks) framer.write(c);
  framer.end();
  await ended;
  return frames;
}

/** Within the field's plausible range, give or take one step of its scale (rounding). */
function assertPlausible(field: FieldSpec, value: unknown): void {
  assert.equal(typeof value, 'number', `${field.name}: ${String(value)}`);
  const { min, max } = plausibleRange(field);
  const slack = Math.abs(field.scale);
  assert.ok((value as number) >= min - slack && (value as number) <= max + slack, `${field.name} = ${String(value)} not in [${min}, ${max}]`);
}

const HEAD = 'id: sim-1\nserial: { path: /dev/null }\n';

describe('simulator frames, read by the gateway', () => {
  const cases: { name: string; yaml: string; line?: string }[] = [
    {
      name: 'csv with a separator and columns',
      yaml: `${HEAD}format: csv\noptions: { separator: ";" }\nfields:\n  - { name: temperature, unit: C, column: 2 }\n  - { name: humidity, unit: "%", column: 0 }\n  - { name: pressure, unit: hPa, scale: 0.1, column: 1 }\n`,
    },
    {
      name: 'json with nested paths, CR LF lines',
      yaml: `${HEAD}framing: { readline: "\\r\\n" }\nformat: json\nfields:\n  - { name: temperature, unit: C, path: env.t }\n  - { name: co2, unit: ppm }\n`,
    },
    {
      name: 'kv with its own assign',
      yaml: `${HEAD}format: kv\noptions: { assign: ":" }\nfields:\n  - { name: voltage, unit: V, key: U }\n  - { name: current, unit: A }\n`,
    },
    {
      name: 'regex from a line template',
      yaml: `${HEAD}format: regex\noptions: { pattern: "^T=(?<temperature>[-\\\\d.]+) H=(?<hum>[-\\\\d.]+)$" }\nfields:\n  - { name: temperature, unit: C }\n  - { name: humidity, unit: "%", group: hum }\n`,
      line: 'T={temperature} H={humidity}',
    },
    {
      name: 'hex binary between 7E delimiters',
      yaml: `${HEAD}framing: { delimiter: { hex: "7E" } }\nformat: hex\nfields:\n  - { name: temperature, unit: C, offset: 0, type: i16, scale: 0.01 }\n  - { name: voltage, unit: V, offset: 2, type: f32, endian: little }\n  - { name: rpm, unit: rpm, offset: 6, type: u32 }\n`,
    },
    {
      name: 'hex as text lines',
      yaml: `${HEAD}format: hex\noptions: { input: text }\nfields:\n  - { name: humidity, unit: "%", offset: 0, type: u16, scale: 0.1 }\n  - { name: temperature, unit: C, offset: 2, type: i8 }\n`,
    },
    {
      name: 'hex in fixed-length frames',
      yaml: `${HEAD}framing: { length: 10 }\nformat: hex\nfields:\n  - { name: pressure, unit: hPa, offset: 0, type: u16, scale: 0.1 }\n  - { name: temperature, unit: C, offset: 2, type: f64 }\n`,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: each field decodes to the value sent`, async () => {
      const profile = profileOf(c.yaml);
      const opts = { line: c.line ?? null };
      assert.equal(cannotPlay(profile, opts), null);
      const ticks = Array.from({ length: 40 }, (_, i) => i * 3);
      const frames = await cut(profile, ticks.flatMap((t) => buildFrames(profile, t, opts)));
      assert.equal(frames.length, ticks.length, 'one frame per tick');
      const decode = createDecoder(profile);
      frames.forEach((frame, i) => {
        const got = new Map(decode(frame).readings.map((r) => [r.sensor, r.value]));
        for (const s of sentSamples(profile, ticks[i])) {
          assert.ok(Math.abs((got.get(s.field.name) as number) - s.value) < 1e-9, `${s.field.name} at tick ${ticks[i]}: sent ${s.value}, read ${String(got.get(s.field.name))}`);
          assertPlausible(s.field, got.get(s.field.name));
        }
      });
      if (profile.framing.kind !== 'length') {
        const [bad] = await cut(profile, [garbageFrame(profile, 3, opts)]);
        assert.throws(() => decode(bad), FrameError, 'garbage is refused');
      }
    });
  }

  it('nmea: a GGA and an RMC per tick with correct checksums, wandering near the point', async () => {
    const profile = profileOf(`${HEAD}framing: { readline: "\\r\\n" }\nformat: nmea\n`);
    const now = new Date(Date.UTC(2024, 4, 17, 12, 30, 5, 250));
    const frames = await cut(profile, [0, 30, 61, 119].flatMap((t) => buildFrames(profile, t, { now })));
    assert.equal(frames.length, 8);
    const decode = createDecoder(profile);
    const decoded: DecodedFrame[] = frames.map((f) => decode(f));
    for (const [i, f] of frames.entries()) {
      const text = f.toString();
      assert.match(text, i % 2 === 0 ? /^\$GPGGA,/ : /^\$GPRMC,/);
      assert.equal(text.slice(-2), nmeaChecksum(text.slice(1, -3)));
      const loc = decoded[i].location!;
      assert.ok(Math.abs(loc.lat - DEFAULT_POINT.lat) < 0.001 && Math.abs(loc.lon - DEFAULT_POINT.lon) < 0.001, JSON.stringify(loc));
    }
    assert.notDeepEqual(decoded[0].location, decoded[2].location, 'it moves');
    assert.equal(decoded[1].timestamp, now.getTime(), 'RMC carries the time');
    const sensors = decoded[0].readings.map((r) => r.sensor).sort();
    assert.deepEqual(sensors, ['altitude', 'fixQuality', 'hdop', 'satellites']);
    const [bad] = await cut(profile, [garbageFrame(profile, 1, { now })]);
    assert.throws(() => decode(bad), /checksum/);
  });

  it('says why a profile cannot be played', () => {
    const regex = profileOf(`${HEAD}format: regex\noptions: { pattern: "^T=(?<t>\\\\d+)$" }\nfields: [ t ]\n`);
    assert.match(cannotPlay(regex, {}) ?? '', /--line TEMPLATE/);
    assert.match(cannotPlay(regex, { line: 'X={t}' }) ?? '', /does not match/);
    assert.equal(cannotPlay(regex, { line: 'T={t}' }), null);
  });
});

// --- the program ---------------------------------------------------------------------

interface RunningSim {
  child: ChildProcess;
  output(): string;
  /** Waits until the output matches. */
  says(re: RegExp, timeout?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the simulator; it is stopped (SIGTERM, then SIGKILL) after the test whatever happens. */
function runSim(t: TestContext, args: string[]): RunningSim {
  const child = spawn(process.execPath, [SIM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('close', (code, signal) => {
    running = false;
    res({ code, signal });
  }));
  t.after(async () => {
    if (!running) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  });
  return {
    child,
    output: () => out,
    says: async (re, timeout = 10_000) => {
      await waitFor(() => {
        if (re.test(out)) return true;
        if (!running) throw new Error(`the simulator exited:\n${out}`);
        return false;
      }, { timeout, message: `${re} from the simulator (output so far:\n${out})` });
    },
    exited,
  };
}

interface Bench {
  pty: PtyPair;
  dir: string;
  /** Writes a profile file; `serial.path` is the pty's device end. */
  profile(yaml: string): string;
  /** The device end, as the gateway would open it. */
  device(): Promise<SimEnd>;
}

async function bench(t: TestContext): Promise<Bench> {
  const { pty, dir, open } = await ptyPairFor(t, 'edgebus-sim-test-');
  let n = 0;
  return {
    pty,
    dir,
    profile(yaml) {
      const file = join(dir, `profile-${++n}.yaml`);
      writeFileSync(file, `id: sim-1\nserial: { path: ${JSON.stringify(pty.devicePath)} }\n${yaml}`);
      return file;
    },
    device: () => open(pty.devicePath),
  };
}

/** Frames cut at "\n", as raw bytes. */
const lines = (b: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length;) {
    const nl = b.indexOf(0x0a, at);
    if (nl < 0) break;
    out.push(b.subarray(at, nl));
    at = nl + 1;
  }
  return out;
};

const METER = [
  'framing: { length: 8 }',
  'format: hex',
  'fields:',
  '  - { name: temperature, unit: C, offset: 0, type: i16, scale: 0.01 }',
  '  - { name: voltage, unit: V, offset: 2, type: f32, endian: little }',
  '  - { name: humidity, unit: "%", offset: 6, type: u16, scale: 0.1 }',
  'poll: { every: 1s, write: { hex: "01 03" } }',
  '',
].join('\n');

const MODBUS = [
  'format: modbus',
  'options: { unitId: 7 }',
  'fields:',
  '  - { name: temperature, unit: C, register: 0, table: input, type: i16, scale: 0.1 }',
  '  - { name: humidity, unit: "%", register: 1, table: input, type: u16, scale: 0.1 }',
  '  - { name: power, unit: W, register: 2, table: input, type: f32, wordOrder: little }',
  '  - { name: energy, unit: kWh, register: 10, type: u32, scale: 0.01 }',
  'poll: { every: 1s }',
  '',
].join('\n');

const WEATHER = 'format: csv\nfields:\n  - { name: temperature, unit: C }\n  - { name: humidity, unit: "%" }\n  - { name: pressure, unit: hPa }\n';

describe('simulator on a pty', () => {
  it('streams CSV lines with plausible values, garbage every Nth, and stops after --count', async (t) => {
    const b = await bench(t);
    const file = b.profile(WEATHER);
    const device = await b.device();
    const sim = runSim(t, [file, '--port', b.pty.simPath, '--every', '20ms', '--count', '6', '--garbage-every', '3']);
    const got = lines(await device.readUntil((buf) => lines(buf).length >= 6, { message: 'six lines' }));
    assert.equal((await sim.exited).code, 0, sim.output());
    assert.match(sim.output(), /sim-1 on .*\/sim\n/);
    assert.match(sim.output(), /done after 6/);
    assert.equal(got.length, 6);
    const fields = profileOf(`${HEAD}${WEATHER}`).fields;
    got.forEach((line, i) => {
      if ((i + 1) % 3 === 0) {
        assert.equal(line.toString('utf8').includes('\ufffd'), true, `line ${i + 1} is garbage: ${line.toString('hex')}`);
        return;
      }
      const cells = line.toString().split(',');
      assert.equal(cells.length, 3, line.toString());
      cells.forEach((c, k) => assertPlausible(fields[k], Number(c)));
    });
  });

  it('answers each poll with exactly one frame and sends nothing unasked', async (t) => {
    const b = await bench(t);
    const file = b.profile(`${WEATHER}poll: { every: 1s, write: "READ\\n" }\n`);
    const device = await b.device();
    // --every is the streaming rate: a simulator that streamed would flood the test at 10 ms.
    const sim = runSim(t, [file, '--port', b.pty.simPath, '--every', '10ms']);
    await sim.says(/sim-1 on /);
    await sim.says(/answering each poll "READ\\n" with one csv frame/);
    for (let i = 0; i < 3; i++) {
      await device.write('READ\n');
      const [line] = await device.readLines(1);
      assert.equal(line.split(',').length, 3, line);
    }
    await device.write('READ\nREAD\n');
    assert.equal((await device.readLines(2)).length, 2);
    // Something that is not a poll is only logged: once the simulator says it read it,
    // every answer it was going to give is out.
    await device.write('HELLO\n');
    await sim.says(/received "HELLO\\n"/);
    assert.equal(device.pending().length, 0, `unasked bytes: ${JSON.stringify(device.pending().toString())}`);
  });

  it('answers a binary poll with one frame of exactly the framing length', async (t) => {
    const b = await bench(t);
    const file = b.profile(METER);
    const device = await b.device();
    const sim = runSim(t, [file, '--port', b.pty.simPath, '--every', '10ms']);
    await sim.says(/sim-1 on /);
    const { fields } = profileOf(HEAD + METER);
    for (let i = 0; i < 2; i++) {
      await device.write(Buffer.from([0x01, 0x03]));
      const frame = await device.readUntil((buf) => buf.length >= 8, { message: 'an 8-byte frame' });
      assert.equal(frame.length, 8, frame.toString('hex'));
      assertPlausible(fields[0], frame.readInt16BE(0) * 0.01);
      assertPlausible(fields[1], frame.readFloatLE(2));
      assertPlausible(fields[2], frame.readUInt16BE(6) * 0.1);
    }
    await device.write('?\n');
    await sim.says(/received "\?\\n"/);
    assert.equal(device.pending().length, 0);
  });

  it('serves a Modbus profile as an RTU slave: input and holding registers, exceptions, changing values', async (t) => {
    const b = await bench(t);
    const file = b.profile(MODBUS);
    const sim = runSim(t, [file, '--port', b.pty.simPath, '--every', '50ms']);
    await sim.says(/sim-1 on /);
    await sim.says(/Modbus RTU slave, unit 7, registers input 0-3, holding 10-11/);
    const client = new ModbusClient();
    await client.connectRTUBuffered(b.pty.devicePath, { baudRate: 9600 });
    t.after(() => new Promise<void>((r) => client.close(() => r())));
    client.setID(7);
    client.setTimeout(2_000);

    const field = (name: string): FieldSpec => profileOf(HEAD + MODBUS).fields.find((f) => f.name === name)!;
    const read = async (): Promise<Record<string, number>> => {
      const { buffer } = await client.readInputRegisters(0, 4);
      // f32 with the low word first: swap the words back to read it big-endian.
      const power = Buffer.concat([buffer.subarray(6, 8), buffer.subarray(4, 6)]).readFloatBE(0);
      return { temperature: buffer.readInt16BE(0) * 0.1, humidity: buffer.readUInt16BE(2) * 0.1, power };
    };
    const first = await read();
    for (const [name, value] of Object.entries(first)) assertPlausible(field(name), value);
    const { buffer: energy } = await client.readHoldingRegisters(10, 2);
    assertPlausible(field('energy'), energy.readUInt32BE(0) * 0.01);

    await assert.rejects(client.readInputRegisters(3, 2), (err: Error & { modbusCode?: number }) => err.modbusCode === 2, 'past the block');
    await assert.rejects(client.readHoldingRegisters(0, 1), (err: Error & { modbusCode?: number }) => err.modbusCode === 2, 'not a holding register');
    // Values move with time (a step every 50 ms), and stay plausible.
    const later = await waitFor(async () => {
      const now = await read();
      return now.temperature !== first.temperature ? now : null;
    }, { timeout: 5_000, message: 'the temperature to change' });
    assertPlausible(field('temperature'), later.temperature);
  });

  it('with --port, waits out an unplug and plays on once the port is back', async (t) => {
    const b = await bench(t);
    const file = b.profile(WEATHER);
    const device = await b.device();
    const sim = runSim(t, [file, '--port', b.pty.simPath, '--every', '20ms']);
    await device.readLines(1);
    await device.close();
    await b.pty.unplug();
    await sim.says(/sim went away .*waiting for it to come back/);
    await b.pty.replug();
    const again = await b.device();
    await sim.says(/sim is back/);
    const [line] = await again.readLines(1, { timeout: 5_000 });
    assert.equal(line.split(',').length, 3, line);
  });

  it('without --port makes its own pty pair, says where, and removes it on SIGTERM', async (t) => {
    const dir = tempDir('edgebus-sim-test-');
    t.after(dir.cleanup);
    const file = join(dir.dir, 'weather.yaml');
    writeFileSync(file, `id: weather-1\nserial: { path: /dev/ttyUSB9 }\n${WEATHER}`);
    const sim = runSim(t, [file, '--every', '20ms']);
    await sim.says(/weather-1 on (\S+) \(point serial\.path here\)/);
    const devicePath = /weather-1 on (\S+) \(point/.exec(sim.output())![1];
    const device = await openSimEnd(devicePath);
    t.after(() => device.close().catch(() => {}));
    const [line] = await device.readLines(1);
    assert.equal(line.split(',').length, 3, line);
    sim.child.kill('SIGTERM');
    assert.equal((await sim.exited).code, 0, sim.output());
    assert.equal(existsSync(dirname(devicePath)), false, 'its pty directory is gone');
  });

  it('refuses a regex profile without --line, saying why', async (t) => {
    const b = await bench(t);
    const file = b.profile('format: regex\noptions: { pattern: "^T=(?<t>\\\\d+)$" }\nfields: [ t ]\n');
    const sim = runSim(t, [file, '--port', b.pty.simPath]);
    assert.equal((await sim.exited).code, 2);
    assert.match(sim.output(), /regex profile needs --line TEMPLATE/);
  });
});
