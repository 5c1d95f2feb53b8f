// Reads `devices/*.yaml` (SPEC §6) into DeviceProfiles. Every mistake — YAML syntax, schema,
// a key of another format, keys at odds — comes back as a SchemaIssue with file and line,
// never as a throw, so `check` and the daemon report the same way. Keys are written as the
// user reads them: `fields[1].offset`.
//
// What the schema cannot say, checked here:
//   - serial: exactly one of path, match; a match names at least one key;
//   - framing: exactly one kind; includeDelimiter goes with delimiter, maxBufferSize with
//     interByteTimeout; none for modbus (Modbus RTU frames itself);
//   - options and field keys belong to the format; regex needs a pattern with named groups
//     and each field's group must be one of them; hex fields need offset and type; modbus
//     fields need register and a register type;
//   - field names unique; publish has {sensor} and no other placeholder than {device};
//   - poll: every >= 100ms, timeout < every; modbus needs a poll and writes nothing itself.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { lineOf, parseYaml, validateAgainst, type SchemaIssue } from '../config/validate.js';
import { createDecoder } from './formats/index.js';
import { compileProfile, FIELD_KEYS_OF, keyOf, optionsTaken, Report } from './profile-compiler.js';
import { DeviceSchema, FORMATS, type RawDevice } from './schema.js';
import type { DeviceProfile } from './types.js';
import { listYamlFiles } from '../util/yaml-files.js';

export interface DeviceFileResult {
  /** Null when the file has issues, or holds only comments (a profile switched off). */
  profile: DeviceProfile | null;
  issues: SchemaIssue[];
}

export interface DevicesDirResult {
  profiles: DeviceProfile[];
  issues: SchemaIssue[];
}

const DEVICE_FILE = /^[^.].*\.ya?ml$/;

/** The profile files in `dir`, sorted, as full paths; a missing dir has none. */
export function listDeviceFiles(dir: string): string[] {
  return listYamlFiles(dir, DEVICE_FILE);
}

/** Every profile in `dir`; an id already used by an earlier file is an issue and the later one is skipped. */
export function loadDevicesDir(dir: string): DevicesDirResult {
  let files: string[];
  try {
    files = listDeviceFiles(dir);
  } catch (err) {
    return { profiles: [], issues: [{ file: dir, line: null, key: '', message: `cannot read devices directory: ${(err as Error).message}` }] };
  }
  const profiles: DeviceProfile[] = [];
  const issues: SchemaIssue[] = [];
  const byId = new Map<string, { file: string; line: number | null }>();
  for (const file of files) {
    const r = loadFile(file);
    issues.push(...r.issues);
    if (!r.profile) continue;
    const first = byId.get(r.profile.id);
    if (first) {
      const where = first.line === null ? first.file : `${first.file}:${first.line}`;
      issues.push({ file: r.profile.file, line: r.idLine, key: 'id', message: `duplicate device id "${r.profile.id}" (already used by ${where}); this profile is skipped` });
      continue;
    }
    byId.set(r.profile.id, { file: r.profile.file, line: r.idLine });
    profiles.push(r.profile);
  }
  return { profiles, issues };
}

/** One profile. `text` spares the read (tests, a watcher). */
export function loadDeviceFile(file: string, text?: string): DeviceFileResult {
  const { profile, issues } = loadFile(file, text);
  return { profile, issues };
}

function loadFile(file: string, text?: string): DeviceFileResult & { idLine: number | null } {
  file = resolve(file);
  const none = (issues: SchemaIssue[]) => ({ profile: null, issues, idLine: null });
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return none([{ file, line: null, key: '', message: `cannot read device profile: ${(err as Error).message}` }]);
    }
  }
  const { parsed, issues: syntax } = parseYaml(text, file);
  if (syntax.length) return none(syntax);
  let data: unknown;
  try {
    data = parsed.doc.toJS();
  } catch (err) {
    return none([{ file, line: 1, key: '', message: (err as Error).message }]);
  }
  if (data === null || data === undefined) return none([]);
  if (typeof data !== 'object' || Array.isArray(data)) {
    return none([{ file, line: lineOf(parsed, []), key: '', message: 'expected a device profile (a mapping with id, serial and format), one per file' }]);
  }
  const schemaIssues = validateAgainst(DeviceSchema, data, parsed, file);
  if (schemaIssues.length) return none(byLine(explain(schemaIssues, data as Record<string, unknown>)));
  const report = new Report(parsed);
  const profile = compileProfile(data as RawDevice, file, report);
  if (report.issues.length) return none(byLine(report.issues));
  // The decoder makes its own last checks of the fields it is given: a profile that passes
  // here can be opened without an error at start.
  if (profile.format !== 'modbus') {
    try {
      createDecoder(profile);
    } catch (err) {
      const at = (data as RawDevice).fields !== undefined ? ['fields'] : ['format'];
      return none([{ file, line: lineOf(parsed, at), key: 'fields', message: (err as Error).message }]);
    }
  }
  return { profile, issues: [], idLine: lineOf(parsed, ['id']) };
}

// ---------------------------------------------------------------------------------------
// Schema issues, made to read well

/**
 * if/then/else reports a bad branch at its own keys and then `must match "then" schema` at
 * the parent's; the second says nothing more. Keys become `fields[1].offset`; an unknown
 * field or option key lists what the profile's format takes; an unquoted USB id says why.
 */
function explain(issues: SchemaIssue[], data: Record<string, unknown>): SchemaIssue[] {
  const format = FORMATS.find((f) => f === data.format);
  return issues
    .filter((s) => !s.message.startsWith('must match "') || !issues.some((o) => o.key.startsWith(`${s.key}.`)))
    .map((s) => {
      const path = s.key === '' ? [] : s.key.split('.');
      let message = s.message;
      if (format && message.startsWith('unknown key')) {
        if (path[0] === 'options' && path.length === 2) message = `unknown key (${optionsTaken(format)})`;
        if (path[0] === 'fields' && path.length === 3) message = `unknown key (expected one of: ${FIELD_KEYS_OF[format].join(', ')})`;
      }
      if (path[0] === 'fields' && path.length === 2 && message.startsWith('expected string, ')) {
        message = `expected a field name or a mapping with name, ${message.slice('expected string, '.length)}`;
      }
      if (path[0] === 'serial' && path[1] === 'match' && /^expected string, got \d/.test(message)) {
        message = `expected a quoted string (unquoted, YAML reads 0403 as the number 403), ${message.slice('expected string, '.length)}`;
      }
      return { ...s, key: keyOf(path), message };
    });
}

/** In the order a reader meets them in the file (stable for issues on one line). */
function byLine(issues: SchemaIssue[]): SchemaIssue[] {
  return [...issues].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}
