// A schema-valid device profile (devices/*.yaml) made into a DeviceProfile, with every check
// the schema cannot express (see loader.ts for the list) reported with its key and line.
import { parseDuration } from '../config/units.js';
import { lineOf, type ParsedYaml, type SchemaIssue } from '../config/validate.js';
import { DEFAULT_PUBLISH, FRAMING_KINDS, MODBUS_TYPES, type RawDevice, type RawField, type RawFraming, type RawOptions } from './schema.js';
import type { BinaryType, DeviceProfile, FieldSpec, FormatName, FormatOptions, FramingSpec, PollSpec, SerialSpec } from './types.js';

type Path = readonly (string | number)[];

const MIN_POLL_MS = 100;
const MAX_DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_BUFFER = 256;

const OPTIONS_OF: Record<FormatName, (keyof RawOptions)[]> = {
  json: [],
  csv: ['separator', 'header'],
  kv: ['assign'],
  nmea: ['requireChecksum'],
  regex: ['pattern'],
  hex: ['input'],
  modbus: ['unitId'],
};

const COMMON_FIELD_KEYS = ['name', 'unit', 'scale', 'add'] as const;
export const FIELD_KEYS_OF: Record<FormatName, (keyof RawField)[]> = {
  csv: [...COMMON_FIELD_KEYS, 'column'],
  json: [...COMMON_FIELD_KEYS, 'path'],
  kv: [...COMMON_FIELD_KEYS, 'key'],
  regex: [...COMMON_FIELD_KEYS, 'group'],
  nmea: [...COMMON_FIELD_KEYS],
  hex: [...COMMON_FIELD_KEYS, 'offset', 'type', 'endian'],
  modbus: [...COMMON_FIELD_KEYS, 'register', 'table', 'type', 'wordOrder'],
};

const BYTES_OF: Record<BinaryType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8 };
export function optionsTaken(format: FormatName): string {
  const keys = OPTIONS_OF[format];
  return keys.length ? `format ${format} takes: ${keys.join(', ')}` : `format ${format} takes no options`;
}

/** `fields[1].offset`, as a user reads it. */
export function keyOf(path: Path): string {
  return path.map((s, i) => (typeof s === 'number' || /^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** "a", "a and b", "a, b and c". */
function listing(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export class Report {
  readonly issues: SchemaIssue[] = [];
  constructor(private readonly parsed: ParsedYaml) {}

  /** An issue about `path`, on the line of `at` (the key, or the nearest that exists). */
  add(path: Path, message: string, at: Path = path): void {
    this.issues.push({ file: this.parsed.file, line: lineOf(this.parsed, at, true), key: keyOf(path), message });
  }
}


export function compileProfile(raw: RawDevice, file: string, r: Report): DeviceProfile {
  const format = raw.format;
  const serial = compileSerial(raw.serial, r);
  const framing = compileFraming(raw.framing, format, serial.baudRate, r);
  const options = compileOptions(raw, r);
  const fields = compileFields(raw, options, framing, r);
  return {
    id: raw.id,
    description: raw.description ?? null,
    file,
    serial,
    framing,
    format,
    options,
    fields,
    publish: compilePublish(raw.publish, r),
    commands: raw.commands ? { encode: raw.commands.encode } : null,
    poll: compilePoll(raw, r),
  };
}

function compileSerial(s: RawDevice['serial'], r: Report): SerialSpec {
  const given = (['path', 'match'] as const).filter((k) => s[k] !== undefined);
  if (given.length !== 1) r.add(['serial'], `expected exactly one of path, match, got ${given.length ? listing(given) : 'neither'}`);
  if (s.match && Object.keys(s.match).length === 0) {
    r.add(['serial', 'match'], 'expected at least one of vendorId, productId, serialNumber, manufacturer, got {}');
  }
  return {
    path: s.path ?? null,
    match: s.match ? { ...s.match } : null,
    baudRate: s.baudRate ?? 9600,
    dataBits: s.dataBits ?? 8,
    parity: s.parity ?? 'none',
    stopBits: s.stopBits ?? 1,
    rtscts: s.rtscts ?? false,
    xon: s.xon ?? false,
    xoff: s.xoff ?? false,
  };
}

/** A string's UTF-8 bytes, or `{ hex }`'s bytes. */
function toBytes(v: string | { hex: string }): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.hex.replace(/[\s:]/g, ''), 'hex');
}

function compileRegExp(source: string, path: Path, r: Report): RegExp | null {
  try {
    return new RegExp(source);
  } catch (err) {
    r.add(path, `expected a regular expression, got ${JSON.stringify(source)} (${(err as Error).message})`);
    return null;
  }
}

/** Positive ms from a schema-valid duration; an issue for 0. */
function positiveMs(value: string | number, path: Path, r: Report): number {
  const ms = parseDuration(value);
  if (!(ms > 0)) r.add(path, `expected a duration longer than 0, got ${JSON.stringify(value)}`);
  return ms;
}

function compileFraming(raw: RawFraming | undefined, format: FormatName, baudRate: number, r: Report): FramingSpec {
  if (format === 'modbus') {
    if (raw !== undefined) r.add(['framing'], 'format modbus frames its own messages (Modbus RTU): remove framing');
    // Not used to read (the Modbus client frames answers); the RTU silence (3.5 characters) for the record.
    return { kind: 'interByteTimeout', ms: Math.max(2, Math.ceil((3.5 * 11 * 1000) / baudRate)), maxBufferSize: DEFAULT_MAX_BUFFER };
  }
  const f = raw ?? { readline: '\n' };
  const fallback: FramingSpec = { kind: 'readline', delimiter: '\n' };
  const kinds = FRAMING_KINDS.filter((k) => f[k] !== undefined);
  if (kinds.length !== 1) {
    r.add(['framing'], `expected exactly one of ${FRAMING_KINDS.join(', ')}, got ${kinds.length ? listing(kinds) : 'none'}`);
    return fallback;
  }
  const kind = kinds[0];
  if (f.includeDelimiter !== undefined && kind !== 'delimiter') r.add(['framing', 'includeDelimiter'], `goes with delimiter, not with ${kind}`);
  if (f.maxBufferSize !== undefined && kind !== 'interByteTimeout') r.add(['framing', 'maxBufferSize'], `goes with interByteTimeout, not with ${kind}`);
  switch (kind) {
    case 'readline':
      return { kind, delimiter: f.readline! };
    case 'delimiter':
      return { kind, delimiter: toBytes(f.delimiter!), includeDelimiter: f.includeDelimiter ?? false };
    case 'length':
      return { kind, length: f.length! };
    case 'interByteTimeout':
      return { kind, ms: positiveMs(f.interByteTimeout!, ['framing', 'interByteTimeout'], r), maxBufferSize: f.maxBufferSize ?? DEFAULT_MAX_BUFFER };
    case 'regex': {
      const regex = compileRegExp(f.regex!, ['framing', 'regex'], r);
      return regex ? { kind, regex } : fallback;
    }
  }
}

/** Every named group of `re` (compiled already). */
function namedGroups(re: RegExp): string[] {
  return Object.keys(new RegExp(`(?:${re.source})|`).exec('')?.groups ?? {});
}

const GROUP_EXAMPLE = '(?<temperature>[-\\d.]+)';

function compileOptions(raw: RawDevice, r: Report): FormatOptions {
  const format = raw.format;
  const o = raw.options ?? {};
  const taken = OPTIONS_OF[format];
  for (const key of Object.keys(o)) {
    if (!taken.includes(key as keyof RawOptions)) r.add(['options', key], `not an option of format ${format} (${optionsTaken(format)})`);
  }
  let pattern: RegExp | null = null;
  if (format === 'regex') {
    if (o.pattern === undefined) {
      r.add(['options', 'pattern'], `format regex needs a pattern with named groups, e.g. ${GROUP_EXAMPLE}`, raw.options ? ['options'] : ['format']);
    } else {
      pattern = compileRegExp(o.pattern, ['options', 'pattern'], r);
      if (pattern && namedGroups(pattern).length === 0) {
        r.add(['options', 'pattern'], `named groups expected, e.g. ${GROUP_EXAMPLE}, got ${JSON.stringify(o.pattern)}`);
        pattern = null;
      }
    }
  }
  return {
    separator: o.separator ?? ',',
    header: o.header ?? true,
    assign: o.assign ?? '=',
    pattern,
    input: o.input ?? 'binary',
    requireChecksum: o.requireChecksum ?? false,
    unitId: o.unitId ?? 1,
  };
}

function compileFields(raw: RawDevice, options: FormatOptions, framing: FramingSpec, r: Report): FieldSpec[] {
  const format = raw.format;
  const items: RawField[] = (raw.fields ?? []).map((f) => (typeof f === 'string' ? { name: f } : f));
  if ((format === 'hex' || format === 'modbus') && items.length === 0) {
    const what = format === 'hex' ? 'each with offset and type' : 'each with a register';
    r.add(['fields'], `format ${format} needs fields (${what}): nothing would be read without them`, raw.fields ? ['fields'] : ['format']);
  }
  const allowed = FIELD_KEYS_OF[format];
  const groups = options.pattern ? namedGroups(options.pattern) : null;
  const seen = new Map<string, number>();
  return items.map((f, i): FieldSpec => {
    const at = (...rest: string[]): Path => ['fields', i, ...rest];
    for (const key of Object.keys(f)) {
      if (!allowed.includes(key as keyof RawField)) r.add(at(key), `not a key of format ${format} fields (expected one of: ${allowed.join(', ')})`);
    }
    const earlier = seen.get(f.name);
    if (earlier !== undefined) r.add(at('name'), `duplicate field name "${f.name}" (also ${keyOf(['fields', earlier])})`);
    else seen.set(f.name, i);

    let type: BinaryType | null = f.type ?? null;
    if (format === 'hex') {
      if (f.offset === undefined || f.type === undefined) {
        r.add(at(f.offset === undefined ? 'offset' : 'type'), 'hex fields need offset and type');
      } else if (framing.kind === 'length' && options.input === 'binary' && f.offset + BYTES_OF[f.type] > framing.length) {
        r.add(at('offset'), `a ${f.type} at offset ${f.offset} needs ${f.offset + BYTES_OF[f.type]} bytes, got frames of ${framing.length} (framing.length)`);
      }
    }
    if (format === 'modbus') {
      type = f.type ?? 'u16';
      if (!(MODBUS_TYPES as readonly string[]).includes(type)) {
        r.add(at('type'), `expected one of ${MODBUS_TYPES.join(', ')} for a modbus register, got ${JSON.stringify(type)}`);
      }
      if (f.register === undefined) r.add(at('register'), 'modbus fields need register (the register address)');
      else if (f.register + BYTES_OF[type] / 2 - 1 > 65535) r.add(at('register'), `a ${type} at register ${f.register} runs past register 65535`);
    }
    if (format === 'regex' && groups) {
      const group = f.group ?? f.name;
      if (!groups.includes(group)) {
        r.add(at(f.group === undefined ? 'name' : 'group'), `expected a named group of options.pattern (${groups.join(', ')}), got ${JSON.stringify(group)}`);
      }
    }
    return {
      name: f.name,
      unit: f.unit ?? null,
      column: format === 'csv' ? f.column ?? i : null,
      path: format === 'json' ? f.path ?? f.name : null,
      key: format === 'kv' ? f.key ?? f.name : null,
      group: format === 'regex' ? f.group ?? f.name : null,
      offset: f.offset ?? null,
      type,
      endian: f.endian ?? 'big',
      register: f.register ?? null,
      table: f.table ?? 'holding',
      wordOrder: f.wordOrder ?? 'big',
      scale: f.scale ?? 1,
      add: f.add ?? 0,
    };
  });
}

function compilePublish(raw: string | undefined, r: Report): string {
  const publish = raw ?? DEFAULT_PUBLISH;
  const names = [...publish.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]);
  const unknown = names.filter((n) => n !== 'device' && n !== 'sensor');
  if (unknown.length) {
    r.add(['publish'], `unknown placeholder {${unknown[0]}}: only {device} and {sensor} are filled in, got ${JSON.stringify(publish)}`);
  } else if (!names.includes('sensor')) {
    r.add(['publish'], `expected a topic template with {sensor} (e.g. "${DEFAULT_PUBLISH}"), got ${JSON.stringify(publish)}`);
  }
  return publish;
}

function compilePoll(raw: RawDevice, r: Report): PollSpec | null {
  const p = raw.poll;
  if (p === undefined) {
    if (raw.format === 'modbus') r.add(['poll'], 'format modbus needs a poll (e.g. poll: { every: 10s }): its registers are read on that schedule', ['format']);
    return null;
  }
  const everyMs = parseDuration(p.every);
  if (everyMs < MIN_POLL_MS) r.add(['poll', 'every'], `expected at least ${MIN_POLL_MS}ms, got ${JSON.stringify(p.every)}`);
  if (raw.format === 'modbus' && p.write !== undefined) {
    r.add(['poll', 'write'], 'format modbus reads its registers itself: no write');
  }
  let timeoutMs = Math.min(Math.floor(everyMs / 2), MAX_DEFAULT_TIMEOUT_MS);
  if (p.timeout !== undefined) {
    timeoutMs = positiveMs(p.timeout, ['poll', 'timeout'], r);
    if (timeoutMs > 0 && timeoutMs >= everyMs) {
      r.add(['poll', 'timeout'], `expected less than poll.every (${JSON.stringify(p.every)}), got ${JSON.stringify(p.timeout)}`);
    }
  }
  return { everyMs, write: p.write === undefined ? null : toBytes(p.write), timeoutMs };
}
