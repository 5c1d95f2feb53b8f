// The device language of SPEC §6, as loaded: one profile per serial device. The schema
// (schema.ts) checks a file against it; the loader fills in the defaults named here.
import type { Location } from '../events/types.js';

export type Parity = 'none' | 'even' | 'odd' | 'mark' | 'space';

/** Which port: a fixed path (a /dev/serial/by-id/… link survives USB renumbering), or a USB match. */
export interface SerialSpec {
  path: string | null;
  /** Any of these given must equal the port's (as `SerialPort.list()` reports them; hex ids compare case-insensitively). */
  match: { vendorId?: string; productId?: string; serialNumber?: string; manufacturer?: string } | null;
  baudRate: number; // default 9600
  dataBits: 5 | 6 | 7 | 8; // default 8
  parity: Parity; // default none
  stopBits: 1 | 1.5 | 2; // default 1
  rtscts: boolean; // default false
  xon: boolean; // default false
  xoff: boolean; // default false
}

/** How the byte stream is cut into frames. Exactly one kind per profile. */
export type FramingSpec =
  /** Lines: the delimiter is removed ("\n" by default; "\r\n" also strips a lone "\r"). */
  | { kind: 'readline'; delimiter: string }
  /** Like readline, for any byte sequence; `hex` delimiters (e.g. "7E") name raw bytes. */
  | { kind: 'delimiter'; delimiter: Buffer; includeDelimiter: boolean }
  /** Fixed-size binary frames. */
  | { kind: 'length'; length: number }
  /** A frame ends when the line has been quiet this long (binary protocols without a delimiter). */
  | { kind: 'interByteTimeout'; ms: number; maxBufferSize: number }
  /** Split on a regular expression (the match is the separator). */
  | { kind: 'regex'; regex: RegExp };

export type FormatName = 'json' | 'csv' | 'kv' | 'nmea' | 'regex' | 'hex' | 'modbus';

export type BinaryType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';

/**
 * One reading a frame carries. Which keys apply depends on the format:
 * - csv: `column` (0-based; default: the field's position in `fields`);
 * - json: `path` (dot path in the object; default `name`);
 * - kv: `key` (default `name`);
 * - regex: the named group `group` (default `name`);
 * - nmea: `name` is one of the readings a sentence gives (see formats/nmea.ts): listing
 *   fields keeps only those, with the units given;
 * - hex: `offset` (byte), `type`, `endian`;
 * - modbus: `register` (address), `table` (holding | input), `type`, `wordOrder`.
 * `scale` multiplies and `add` then adds, for every numeric format.
 */
export interface FieldSpec {
  name: string;
  unit: string | null;
  column: number | null;
  path: string | null;
  key: string | null;
  group: string | null;
  offset: number | null;
  type: BinaryType | null;
  endian: 'big' | 'little';
  register: number | null;
  table: 'holding' | 'input';
  wordOrder: 'big' | 'little';
  scale: number; // default 1
  add: number; // default 0
}

export interface FormatOptions {
  /** csv: the column separator (default ","). */
  separator: string;
  /** csv: a first line to skip when it is not numbers (a header) — default true. */
  header: boolean;
  /** kv: the key/value separator (default "="). */
  assign: string;
  /** regex: the pattern, with named groups. */
  pattern: RegExp | null;
  /** hex: frames are raw bytes (binary) or hex digits as text (text). */
  input: 'binary' | 'text';
  /** nmea: refuse sentences whose checksum is missing (it is always verified when present). */
  requireChecksum: boolean;
  /** modbus: the slave's unit id (default 1) and how long an answer may take. */
  unitId: number;
}

export interface PollSpec {
  everyMs: number;
  /** Written each time (not for modbus, which reads its registers). */
  write: Buffer | null;
  /** No frame within this after the write: a timeout (default: half of everyMs, at most 5 s). */
  timeoutMs: number;
}

export interface DeviceProfile {
  id: string;
  description: string | null;
  /** Where it was loaded from, for messages. */
  file: string;
  serial: SerialSpec;
  framing: FramingSpec;
  format: FormatName;
  options: FormatOptions;
  fields: FieldSpec[];
  /** Topic template for the local republish; `{device}` and `{sensor}`. */
  publish: string;
  /** How a Command is written: a template over the command's payload (see commands.ts). */
  commands: { encode: string } | null;
  poll: PollSpec | null;
}

/** One reading out of a frame: it becomes one DeviceData event. */
export interface DecodedReading {
  sensor: string;
  value: number | string | boolean;
  unit: string | null;
}

/** What a frame said. */
export interface DecodedFrame {
  readings: DecodedReading[];
  location?: Location;
  /** The frame's own time (ms since the epoch), when the format carries one (NMEA RMC, json `ts`). */
  timestamp?: number;
}

/** A frame that does not decode: the reason goes to the rejected store with the raw bytes. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export type FrameDecoder = (frame: Buffer) => DecodedFrame;
