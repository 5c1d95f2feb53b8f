// The shape of one device profile in `devices/*.yaml` (SPEC §6), for `validateAgainst`:
// unknown keys and bad values become `file:line: key: message`. The schema holds the union
// of what any format allows; which keys a format takes (options, field keys), "exactly one
// of" choices and checks between keys (poll.timeout < poll.every, regex groups) live in
// the loader, so their messages can name the format or the keys at odds.
import { Type, type Static } from '@sinclair/typebox';

const strict = { additionalProperties: false } as const;

/** A string enum (or number enum) as one `enum` keyword: a bad value gives one error listing the choices. */
const oneOf = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
const numberIn = <const T extends readonly number[]>(values: T, type: 'integer' | 'number') =>
  Type.Unsafe<T[number]>({ type, enum: [...values] });

/** Same convention as the config: a string like `10s` (the `duration` format) or a number of ms. */
const duration = (description: string) =>
  Type.Unsafe<string | number>({ type: ['string', 'number'], format: 'duration', minimum: 0, description });

const text = (description: string) => Type.String({ minLength: 1, description });

export const PARITIES = ['none', 'even', 'odd', 'mark', 'space'] as const;
export const FORMATS = ['json', 'csv', 'kv', 'nmea', 'regex', 'hex', 'modbus'] as const;
export const BINARY_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'f64'] as const;
export const MODBUS_TYPES = ['u16', 'i16', 'u32', 'i32', 'f32'] as const;
export const FRAMING_KINDS = ['readline', 'delimiter', 'length', 'interByteTimeout', 'regex'] as const;

/** `{ hex: "7E" }` or `{ hex: "0D 0A" }`: raw bytes where a string would be text. */
export const HexBytesSchema = Type.Object({
  hex: Type.String({
    pattern: '^\\s*[0-9A-Fa-f]{2}(?:[\\s:]*[0-9A-Fa-f]{2})*\\s*$',
    description: 'hex bytes such as "7E" or "0D 0A"',
  }),
}, strict);

/**
 * A string (its UTF-8 bytes) or `{ hex }`. if/then/else rather than anyOf: only the branch
 * that applies reports, so a bad hex gives one error and not also "expected string".
 */
const bytes = (description: string) =>
  Type.Unsafe<string | { hex: string }>({
    if: { type: 'object' },
    then: HexBytesSchema,
    else: { type: 'string', minLength: 1 },
    description,
  });

export const SerialMatchSchema = Type.Object({
  vendorId: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{4}$', description: 'a USB vendor id of 4 hex digits such as "0403"' })),
  productId: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{4}$', description: 'a USB product id of 4 hex digits such as "6001"' })),
  serialNumber: Type.Optional(text('the adapter\'s USB serial number')),
  manufacturer: Type.Optional(text('the adapter\'s manufacturer as `SerialPort.list()` reports it')),
}, strict);

export const SerialSchema = Type.Object({
  path: Type.Optional(text('the port, best a /dev/serial/by-id/… link')),
  match: Type.Optional(SerialMatchSchema),
  baudRate: Type.Optional(Type.Integer({ minimum: 1, description: 'bits per second (default 9600)' })),
  dataBits: Type.Optional(numberIn([5, 6, 7, 8] as const, 'integer')),
  parity: Type.Optional(oneOf(PARITIES)),
  stopBits: Type.Optional(numberIn([1, 1.5, 2] as const, 'number')),
  rtscts: Type.Optional(Type.Boolean()),
  xon: Type.Optional(Type.Boolean()),
  xoff: Type.Optional(Type.Boolean()),
}, strict);

/** Exactly one of the kinds (FRAMING_KINDS): the loader says so, naming the ones given. */
export const FramingSchema = Type.Object({
  readline: Type.Optional(text('the line end, e.g. "\\n" or "\\r\\n"')),
  delimiter: Type.Optional(bytes('a delimiter: a string or { hex: "7E" }')),
  includeDelimiter: Type.Optional(Type.Boolean()),
  length: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536, description: 'bytes per frame' })),
  interByteTimeout: Type.Optional(duration('the silence that ends a frame')),
  maxBufferSize: Type.Optional(Type.Integer({ minimum: 1, description: 'bytes at most in one frame (default 256)' })),
  regex: Type.Optional(text('a regular expression that separates frames')),
}, strict);

/** Every format's options; the loader refuses those of another format. */
export const OptionsSchema = Type.Object({
  separator: Type.Optional(text('csv: the column separator')),
  header: Type.Optional(Type.Boolean()),
  assign: Type.Optional(text('kv: the key/value separator')),
  pattern: Type.Optional(text('regex: a regular expression with named groups')),
  input: Type.Optional(oneOf(['binary', 'text'] as const)),
  requireChecksum: Type.Optional(Type.Boolean()),
  unitId: Type.Optional(Type.Integer({ minimum: 1, maximum: 247 })),
}, strict);

const FIELD_NAME = {
  minLength: 1,
  pattern: '^[^/+#]+$',
  description: 'a sensor name that is one MQTT topic level (no /, + or #)',
} as const;

/** Every format's field keys; the loader refuses those of another format. */
export const FieldSchema = Type.Object({
  name: Type.String(FIELD_NAME),
  unit: Type.Optional(Type.String()),
  scale: Type.Optional(Type.Number()),
  add: Type.Optional(Type.Number()),
  column: Type.Optional(Type.Integer({ minimum: 0, description: 'csv: the 0-based column' })),
  path: Type.Optional(text('json: a dot path in the object')),
  key: Type.Optional(text('kv: the key')),
  group: Type.Optional(text('regex: the named group')),
  offset: Type.Optional(Type.Integer({ minimum: 0, description: 'hex: the byte offset' })),
  type: Type.Optional(oneOf(BINARY_TYPES)),
  endian: Type.Optional(oneOf(['big', 'little'] as const)),
  register: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'modbus: the register address' })),
  table: Type.Optional(oneOf(['holding', 'input'] as const)),
  wordOrder: Type.Optional(oneOf(['big', 'little'] as const)),
}, strict);

/** A field is a mapping, or its name alone as shorthand for `{ name }`. */
const FieldItem = Type.Unsafe<string | RawField>({
  if: { type: 'object' },
  then: FieldSchema,
  else: { type: 'string', ...FIELD_NAME },
});

export const PollSchema = Type.Object({
  every: duration('how often to ask'),
  write: Type.Optional(bytes('what to write each time: a string or { hex: "…" }')),
  timeout: Type.Optional(duration('how long an answer may take')),
}, strict);

export const DEFAULT_PUBLISH = 'sensors/{device}/{sensor}';

export const DeviceSchema = Type.Object({
  id: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$', description: 'a device id (letters, digits, _ . and - only)' }),
  description: Type.Optional(Type.String()),
  serial: SerialSchema,
  framing: Type.Optional(FramingSchema),
  format: oneOf(FORMATS),
  options: Type.Optional(OptionsSchema),
  fields: Type.Optional(Type.Array(FieldItem)),
  publish: Type.Optional(Type.String({ minLength: 1, pattern: '^[^+#]+$', description: 'a topic template without + or #' })),
  commands: Type.Optional(Type.Object({ encode: text('a template over the command, e.g. "{payload}\\n"') }, strict)),
  poll: Type.Optional(PollSchema),
}, strict);

export type RawField = Static<typeof FieldSchema>;
export type RawFraming = Static<typeof FramingSchema>;
export type RawOptions = Static<typeof OptionsSchema>;
export type RawPoll = Static<typeof PollSchema>;
export type RawDevice = Static<typeof DeviceSchema>;

