// Frames a device with this profile would send: one body per format, then framed the way
// the profile's framing cuts the stream (a delimiter appended, a fixed length filled; an
// inter-byte-timeout frame is written alone and followed by a pause — the caller's job).
// Tests use these to feed a gateway without the simulator process.
import type { DeviceProfile, FramingSpec } from '../../src/devices/types.js';
import { DEFAULT_POINT, fixSentences, type Point } from './nmea.js';
import { packField, sampleFrame, TYPE_SIZE, type Sample } from './values.js';

export interface FrameOptions {
  /** regex profiles: the line, with `{field}` placeholders for the values. */
  line?: string | null;
  /** nmea: the point the fix wanders around. */
  at?: Point;
  /** nmea: the tick length, for the speed in RMC (default 1 s). */
  tickMs?: number;
  /** nmea: the time stamped in the sentences (default now). */
  now?: Date;
}

/** Why this profile cannot be played with these options, or null. */
export function cannotPlay(profile: DeviceProfile, opts: FrameOptions = {}): string | null {
  if (profile.format === 'modbus') return null;
  if (profile.format === 'regex') {
    if (!opts.line) {
      return 'a regex profile needs --line TEMPLATE (e.g. --line "T={temperature} H={humidity}"): '
        + 'the simulator cannot make up lines for an arbitrary pattern';
    }
    const line = bodies(profile, 0, opts)[0].toString();
    const pattern = profile.options.pattern;
    if (pattern && !new RegExp(pattern.source, pattern.flags.replace('g', '')).test(line)) {
      return `the --line template gives ${JSON.stringify(line)}, which the profile's pattern /${pattern.source}/ does not match`;
    }
  }
  if (profile.format !== 'nmea' && profile.fields.length === 0) return 'the profile has no fields to send';
  if (profile.format === 'hex' && profile.options.input === 'binary' && profile.framing.kind === 'length') {
    const end = binaryLength(profile);
    if (end > profile.framing.length) return `the fields reach byte ${end}, past the frame length ${profile.framing.length}`;
  }
  if (profile.framing.kind === 'regex' && regexSeparator(profile.framing.regex) === null) {
    return `no separator to write for the framing regex /${profile.framing.regex.source}/ (tried newline, CR LF, ; | tab , and space)`;
  }
  return null;
}

/** Why --garbage-every cannot work for this profile, or null. */
export function cannotGarble(profile: DeviceProfile): string | null {
  if (profile.format === 'modbus') return 'a Modbus slave only answers requests: there is no garbage to send';
  if (profile.format === 'hex' && profile.options.input === 'binary') {
    if (profile.framing.kind === 'length') return 'with fixed-length binary frames any bytes decode: there is no garbage frame';
    if (binaryLength(profile) < 2) return 'a one-byte binary frame has no garbage form';
  }
  return null;
}

/** The frames for `tick`, ready to write: nmea gives a fix (GGA, RMC), every other format one frame. */
export function buildFrames(profile: DeviceProfile, tick: number, opts: FrameOptions = {}): Buffer[] {
  return bodies(profile, tick, opts).map((b) => frame(profile.framing, b, isBinary(profile)));
}

/** The first frame for `tick` (for nmea, the GGA). */
export function buildFrame(profile: DeviceProfile, tick: number, opts: FrameOptions = {}): Buffer {
  return buildFrames(profile, tick, opts)[0];
}

/** A frame the gateway must reject (to the rejected store), framed like the others. */
export function garbageFrame(profile: DeviceProfile, k: number, opts: FrameOptions = {}): Buffer {
  let body: Buffer;
  if (profile.format === 'hex' && profile.options.input === 'binary') {
    // One byte short: the last field runs past the end.
    body = Buffer.alloc(Math.max(1, binaryLength(profile) - 1), 0xee);
  } else if (profile.format === 'nmea') {
    const gga = fixSentences(opts.at ?? DEFAULT_POINT, k, opts.now ?? new Date(), opts.tickMs ?? 1_000)[0];
    body = Buffer.from(gga.slice(0, -2) + (gga.endsWith('00') ? '01' : '00')); // wrong checksum
  } else {
    // Line noise: not UTF-8, which every text format refuses (text alone could be a reading).
    body = Buffer.concat([Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from(` garbage #${k}`)]);
  }
  return frame(profile.framing, body, isBinary(profile));
}

const isBinary = (profile: DeviceProfile): boolean => profile.format === 'hex' && profile.options.input === 'binary';

/** Bytes the fields of a hex frame span: up to the end of the last one. */
function binaryLength(profile: DeviceProfile): number {
  return Math.max(0, ...profile.fields.map((f) => (f.offset ?? 0) + TYPE_SIZE[f.type ?? 'u16']));
}

/** Text for a raw value: no exponent, no trailing zeros. */
const text = (raw: number): string => String(raw);

function bodies(profile: DeviceProfile, tick: number, opts: FrameOptions): Buffer[] {
  const samples = sampleFrame(profile, tick);
  switch (profile.format) {
    case 'csv': return [Buffer.from(csvLine(samples, profile.options.separator))];
    case 'json': return [Buffer.from(JSON.stringify(jsonObject(samples)))];
    case 'kv': return [Buffer.from(samples.map((s) => `${s.field.key ?? s.field.name}${profile.options.assign}${text(s.raw)}`).join(' '))];
    case 'regex': return [Buffer.from(fillTemplate(opts.line ?? '', samples))];
    case 'nmea': return fixSentences(opts.at ?? DEFAULT_POINT, tick, opts.now ?? new Date(), opts.tickMs ?? 1_000).map((s) => Buffer.from(s));
    case 'hex': return [hexBody(profile, tick)];
    case 'modbus': throw new Error('a modbus profile has no frames: run the Modbus slave');
  }
}

/** Each field in its column; columns no field names hold 0 (so no line looks like a header). */
function csvLine(samples: Sample[], separator: string): string {
  const cols: string[] = [];
  samples.forEach((s, i) => (cols[s.field.column ?? i] = text(s.raw)));
  return Array.from(cols, (c) => c ?? '0').join(separator);
}

/** Keyed by `path` (dots nest) or name. */
function jsonObject(samples: Sample[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const s of samples) {
    const keys = (s.field.path ?? s.field.name).split('.');
    let node = root;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]] = s.raw;
  }
  return root;
}

function fillTemplate(template: string, samples: Sample[]): string {
  const byName = new Map(samples.map((s) => [s.field.name, s.raw]));
  return template.replace(/\{([^{}]+)\}/g, (whole, name: string) => (byName.has(name) ? text(byName.get(name)!) : whole));
}

function hexBody(profile: DeviceProfile, tick: number): Buffer {
  const bytes = packHex(profile, sampleFrame(profile, hexTick(profile, tick)));
  return profile.options.input === 'binary' ? bytes : Buffer.from(bytes.toString('hex').toUpperCase());
}

function packHex(profile: DeviceProfile, samples: Sample[]): Buffer {
  // A fixed length counts bytes of a binary frame (the rest zeros); text frames are framed later.
  const binary = profile.options.input === 'binary';
  const bytes = Buffer.alloc(binary && profile.framing.kind === 'length' ? profile.framing.length : binaryLength(profile));
  for (const s of samples) packField(s.field.type ?? 'u16', s.field.endian, s.raw).copy(bytes, s.field.offset ?? 0);
  return bytes;
}

/**
 * The tick whose values a hex frame for `tick` carries: itself, unless its bytes would
 * contain the frame delimiter — then the first later tick (1 000 apart) whose bytes do not.
 */
function hexTick(profile: DeviceProfile, tick: number): number {
  const delimiter = frameDelimiter(profile.framing);
  if (profile.options.input !== 'binary' || !delimiter) return tick;
  for (let attempt = 0; attempt < 20; attempt++) {
    const t = tick + attempt * 1_000;
    if (!packHex(profile, sampleFrame(profile, t)).includes(delimiter)) return t;
  }
  return tick;
}

/** The readings the frame(s) for `tick` carry: what the gateway should decode from them. */
export function sentSamples(profile: DeviceProfile, tick: number): Sample[] {
  return sampleFrame(profile, profile.format === 'hex' ? hexTick(profile, tick) : tick);
}

function frameDelimiter(framing: FramingSpec): Buffer | null {
  switch (framing.kind) {
    case 'readline': return Buffer.from(framing.delimiter);
    case 'delimiter': return framing.delimiter;
    case 'regex': return Buffer.from(regexSeparator(framing.regex) ?? '');
    default: return null;
  }
}

const SEPARATOR_CANDIDATES = ['\n', '\r\n', ';', '|', '\t', ',', ' '];

/** Something that matches the framing regex as a whole, to write between frames. */
export function regexSeparator(regex: RegExp): string | null {
  const whole = new RegExp(`^(?:${regex.source})$`, regex.flags.replace('g', ''));
  return SEPARATOR_CANDIDATES.find((c) => whole.test(c)) ?? null;
}

function frame(framing: FramingSpec, body: Buffer, binary: boolean): Buffer {
  switch (framing.kind) {
    case 'readline':
    case 'delimiter':
    case 'regex':
      return Buffer.concat([body, frameDelimiter(framing)!]);
    case 'length': {
      // Exactly the length: binary is filled with zeros, text with spaces.
      const out = Buffer.alloc(framing.length, binary ? 0 : 0x20);
      body.copy(out, 0, 0, framing.length);
      return out;
    }
    case 'interByteTimeout':
      return body;
  }
}
