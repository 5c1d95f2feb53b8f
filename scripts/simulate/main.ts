// edgebus-sim: plays a device profile on a real serial port, for demos and tests.
// Without --port it makes its own pty pair (socat) and tells where the gateway should point
// `serial.path`; with --port it opens that path (e.g. a pty end a test made) and, if the port
// goes away (unplugged), waits for it to come back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { SerialPort } from 'serialport';
import { parseDuration } from '../../src/config/units.js';
import type { DeviceProfile, SerialSpec } from '../../src/devices/types.js';
import { openPort } from '../../src/devices/serial-binding.js';
import { ptyPair, type PtyPair } from './pty-pair.js';
import { buildFrames, cannotGarble, cannotPlay, garbageFrame, type FrameOptions } from './frames.js';
import { cannotServe, describeRegisters, registerMap, startModbusSlave } from './modbus-slave.js';
import { DEFAULT_POINT, type Point } from './nmea.js';
import { loadProfile } from './profile.js';

const USAGE = `usage: node dist/scripts/simulate/main.js PROFILE.yaml [options]

Plays the device a profile describes on a serial port.

  --port PATH          open PATH (e.g. a pty end) instead of making a pty pair with socat
  --every DURATION     time between frames, or between Modbus value changes (default 1s)
  --count N            stop after N frames (streaming), N answers (polled), N requests (Modbus)
  --garbage-every N    every Nth frame is one the gateway must reject
  --line TEMPLATE      regex profiles: the line to send, {field} marks a value
  --at LAT,LON         nmea: the point the fix wanders around (default ${DEFAULT_POINT.lat},${DEFAULT_POINT.lon})

A profile with poll.write answers each poll with one frame and sends nothing on its own.
A modbus profile is served as a Modbus RTU slave (function codes 3 and 4).`;

interface Options {
  file: string;
  port: string | null;
  everyMs: number;
  count: number | null;
  garbageEvery: number | null;
  line: string | null;
  at: Point;
}

class UsageError extends Error {}

function positiveInt(name: string, v: string | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name}: expected a whole number above 0, got ${JSON.stringify(v)}`);
  return n;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      every: { type: 'string' },
      count: { type: 'string' },
      'garbage-every': { type: 'string' },
      line: { type: 'string' },
      at: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('expected one profile file');
  let everyMs: number;
  try {
    everyMs = parseDuration(values.every ?? '1s');
  } catch (err) {
    throw new UsageError(`--every: ${(err as Error).message}`);
  }
  let at = DEFAULT_POINT;
  if (values.at !== undefined) {
    const [lat, lon] = values.at.split(',').map(Number);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new UsageError(`--at: expected LAT,LON, got ${values.at}`);
    at = { lat, lon };
  }
  return {
    file: positionals[0],
    port: values.port ?? null,
    everyMs,
    count: positiveInt('--count', values.count),
    garbageEvery: positiveInt('--garbage-every', values['garbage-every']),
    line: values.line ?? null,
    at,
  };
}

const say = (msg: string): void => void process.stdout.write(`edgebus-sim: ${msg}\n`);
const complain = (msg: string): void => void process.stderr.write(`edgebus-sim: ${msg}\n`);

/** Bytes for a log line: as text when they are text, else hex. */
const show = (b: Buffer): string => (/^[\x20-\x7e\r\n\t]*$/.test(b.toString('latin1')) ? JSON.stringify(b.toString('latin1')) : `<${b.toString('hex')}>`);

/** What one opening of the port does until it closes. */
interface Session {
  /** Resolves when the port closes: null after close(), the error when it went away. */
  closed: Promise<Error | null>;
  close(): Promise<void>;
}

function openSerial(path: string, s: SerialSpec): Promise<SerialPort> {
  return openPort({
    path, baudRate: s.baudRate, dataBits: s.dataBits, parity: s.parity, stopBits: s.stopBits,
    rtscts: s.rtscts, xon: s.xon, xoff: s.xoff,
  });
}

function portSession(port: SerialPort, stopWork: () => void): Session {
  let closing = false;
  port.on('error', () => {}); // a going port also emits 'close', which ends the session
  const closed = new Promise<Error | null>((resolve) => port.once('close', (err: Error | null) => {
    stopWork();
    resolve(closing ? null : err ?? new Error('port closed'));
  }));
  return {
    closed,
    close: async () => {
      closing = true;
      stopWork();
      if (port.isOpen) {
        await new Promise<void>((resolve) => port.drain(() => resolve()));
        await new Promise<void>((resolve) => port.close(() => resolve()));
      }
    },
  };
}

function writeAll(port: SerialPort, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    port.write(bytes, (err) => {
      if (err) reject(err);
      else port.drain((e) => (e ? reject(e) : resolve()));
    });
  });
}

/** Counts frames (or answers, or requests) and says when --count is reached. */
class Counter {
  n = 0;
  readonly reached: Promise<void>;
  private resolve!: () => void;
  constructor(private readonly limit: number | null) {
    this.reached = new Promise((r) => (this.resolve = r));
  }
  /** Takes the next slot (1-based), or null once the count is reached. */
  take(): number | null {
    if (this.limit !== null && this.n >= this.limit) return null;
    return ++this.n;
  }
  done(): void {
    if (this.limit !== null && this.n >= this.limit) this.resolve();
  }
}

/** Frames for slot n: garbage every Nth, else the data for tick n-1. */
function framesFor(profile: DeviceProfile, opts: Options, fo: FrameOptions, n: number): Buffer[] {
  if (opts.garbageEvery !== null && n % opts.garbageEvery === 0) return [garbageFrame(profile, n, fo)];
  return buildFrames(profile, n - 1, { ...fo, now: new Date() });
}

/** Writes a slot's frames; inter-byte-timeout frames each get a pause of their own. */
async function writeFrames(port: SerialPort, profile: DeviceProfile, frames: Buffer[]): Promise<void> {
  const f = profile.framing;
  for (let i = 0; i < frames.length; i++) {
    if (i > 0 && f.kind === 'interByteTimeout') await sleep(Math.max(2 * f.ms, 10));
    await writeAll(port, frames[i]);
  }
}

/** A streaming device: a slot now, then one every --every. */
function streamer(profile: DeviceProfile, opts: Options, fo: FrameOptions, counter: Counter) {
  return async (path: string): Promise<Session> => {
    const port = await openSerial(path, profile.serial);
    const stop = new AbortController();
    port.on('data', (d: Buffer) => say(`received ${show(d)}`));
    void (async () => {
      try {
        for (;;) {
          const n = counter.take();
          if (n === null) break;
          await writeFrames(port, profile, framesFor(profile, opts, fo, n));
          counter.done();
          await sleep(opts.everyMs, undefined, { signal: stop.signal });
        }
      } catch {
        // stopped, or the port went: the session's 'closed' says which
      }
    })();
    return portSession(port, () => stop.abort());
  };
}

/** How many bytes at the end of `input` could begin a poll (the longest such suffix). */
function pollPrefixAtEnd(input: Buffer, poll: Buffer): number {
  for (let n = Math.min(input.length, poll.length - 1); n > 0; n--) {
    if (input.subarray(input.length - n).equals(poll.subarray(0, n))) return n;
  }
  return 0;
}

/** A polled device: each poll write in the input is answered with one slot's frames. */
function responder(profile: DeviceProfile, opts: Options, fo: FrameOptions, counter: Counter, poll: Buffer) {
  return async (path: string): Promise<Session> => {
    const port = await openSerial(path, profile.serial);
    let input = Buffer.alloc(0);
    let answering = Promise.resolve();
    let stopped = false;
    port.on('data', (d: Buffer) => {
      input = Buffer.concat([input, d]);
      for (let at = input.indexOf(poll); at >= 0; at = input.indexOf(poll)) {
        if (at > 0) say(`received ${show(input.subarray(0, at))}`);
        input = input.subarray(at + poll.length);
        const n = counter.take();
        if (n === null) continue;
        answering = answering.then(async () => {
          if (stopped) return;
          await writeFrames(port, profile, framesFor(profile, opts, fo, n));
          counter.done();
        }).catch(() => {});
      }
      // Keep what could still be the start of a poll; show the rest.
      const keep = pollPrefixAtEnd(input, poll);
      if (input.length > keep) {
        say(`received ${show(input.subarray(0, input.length - keep))}`);
        input = input.subarray(input.length - keep);
      }
    });
    return portSession(port, () => (stopped = true));
  };
}

/** A Modbus RTU slave whose registers change every --every. */
function modbusServer(profile: DeviceProfile, opts: Options, counter: Counter) {
  const t0 = Date.now();
  return async (path: string): Promise<Session> => startModbusSlave({
    path,
    profile,
    registers: () => registerMap(profile, Math.floor((Date.now() - t0) / opts.everyMs)),
    onRequest: () => {
      counter.take();
      // The answer goes out after this returns: let it leave before stopping.
      setTimeout(() => counter.done(), 100);
    },
    onWrite: (address, value) => say(`write of holding register ${address} = ${value} (acknowledged, not kept)`),
  });
}

function describe(profile: DeviceProfile, opts: Options): string {
  const garbage = opts.garbageEvery === null ? '' : `, every ${opts.garbageEvery}th frame garbage`;
  if (profile.format === 'modbus') {
    return `Modbus RTU slave, unit ${profile.options.unitId}, registers ${describeRegisters(registerMap(profile, 0))}; values change every ${opts.everyMs} ms`;
  }
  if (profile.poll?.write) return `answering each poll ${show(profile.poll.write)} with one ${profile.format} frame${garbage}`;
  return `sending ${profile.format} (${profile.framing.kind} framing) every ${opts.everyMs} ms${garbage}`;
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    complain(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let profile: DeviceProfile;
  try {
    profile = loadProfile(opts.file);
  } catch (err) {
    complain((err as Error).message);
    return 2;
  }
  const fo: FrameOptions = { line: opts.line, at: opts.at, tickMs: opts.everyMs };
  const why = (profile.format === 'modbus' ? cannotServe(profile) : cannotPlay(profile, fo))
    ?? (opts.garbageEvery === null ? null : cannotGarble(profile));
  if (why) {
    complain(`${profile.id}: ${why}`);
    return 2;
  }
  if (profile.poll && !profile.poll.write && profile.format !== 'modbus') complain(`${profile.id}: poll without write: streaming instead`);
  if (profile.format !== 'modbus' && profile.framing.kind === 'interByteTimeout' && opts.everyMs <= profile.framing.ms) {
    complain(`${profile.id}: --every ${opts.everyMs}ms is not longer than the ${profile.framing.ms}ms silence that ends a frame: frames will run together`);
  }

  const counter = new Counter(opts.count);
  const open = profile.format === 'modbus'
    ? modbusServer(profile, opts, counter)
    : profile.poll?.write
      ? responder(profile, opts, fo, counter, profile.poll.write)
      : streamer(profile, opts, fo, counter);

  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());

  let pair: PtyPair | null = null;
  let tmp: string | null = null;
  try {
    if (opts.port === null) {
      tmp = mkdtempSync(join(tmpdir(), 'edgebus-sim-'));
      pair = await ptyPair(tmp);
    }
    const path = pair ? pair.simPath : opts.port!;
    const shown = pair ? `${pair.devicePath} (point serial.path here)` : path;
    let first = true;
    let waiting = false;
    while (!stop.signal.aborted) {
      let session: Session;
      try {
        session = await open(path);
      } catch (err) {
        if (pair) throw err;
        if (!waiting) complain(`cannot open ${path} (${(err as Error).message}): waiting for it`);
        waiting = true;
        await Promise.race([sleep(250), stopped]);
        continue;
      }
      if (first) {
        say(`${profile.id} on ${shown}\nedgebus-sim: ${describe(profile, opts)}`);
      } else {
        say(`${path} is back`);
      }
      first = false;
      waiting = false;
      const ended = await Promise.race([session.closed, stopped.then(() => 'stop' as const), counter.reached.then(() => 'done' as const)]);
      if (ended === 'stop' || ended === 'done') {
        await session.close();
        if (ended === 'done') say(`done after ${counter.n}`);
        break;
      }
      if (pair) throw new Error(`the pty pair went away (${ended?.message}): socat died?\n${pair.output()}`);
      complain(`${path} went away (${ended?.message}): waiting for it to come back`);
      waiting = true;
    }
    return 0;
  } catch (err) {
    complain((err as Error).message);
    return 1;
  } finally {
    await pair?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

const code = await main(process.argv.slice(2));
// Flush what was said, then go: serialport's poller may hold the loop a little longer.
process.stdout.write('', () => process.exit(code));
