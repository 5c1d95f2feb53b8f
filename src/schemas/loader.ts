// Reads `schemasDir` (README "Schemas") into a SchemaRegistry. Every mistake — YAML syntax,
// the file's shape, a JSON Schema ajv will not compile, a bad upcast step — comes back as a
// SchemaIssue with file and line, never as a throw, so `check` and the daemon report alike.
// A file with any issue contributes no schema.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { lineOf, parseYaml, SchemaError, validateAgainst, type ParsedYaml, type SchemaIssue } from '../config/validate.js';
import type { Logger } from '../util/log.js';
import { RuleError } from '../rules/types.js';
import { SchemaFileSchema, type RawSchemaFile } from './file-format.js';
import { SchemaRegistry, type PayloadSchema, type SchemaVersion } from './registry.js';
import { compileStep, type UpcastStep } from './upcast.js';
import { listYamlFiles } from '../util/yaml-files.js';

export interface SchemasDirResult {
  registry: SchemaRegistry;
  issues: SchemaIssue[];
}

type Path = readonly (string | number)[];

const SCHEMA_FILE = /\.ya?ml$/;

/**
 * One compiler for every payload schema. Strict about keywords (a typo such as `maxium`
 * is an error, not a schema that checks nothing) but not about types or formats: formats
 * are not checked (ajv-formats is not a dependency), so a `format` is documentation only.
 * No defaults, coercion or removal: the payload is stored exactly as it was published.
 * One per load: two loads (a check, then the daemon) may hold schemas with the same `$id`.
 */
function payloadCompiler(): Ajv {
  return new Ajv({
    allErrors: false, strictSchema: true, strictTypes: false, strictTuples: false, strictRequired: false,
    allowUnionTypes: true, validateFormats: false, logger: false,
  });
}

/** The schema files in `dir`, sorted, as full paths; a missing dir has none. */
export function listSchemaFiles(dir: string): string[] {
  return listYamlFiles(dir, SCHEMA_FILE);
}

/** The daemon's schemas: every issue is an error (SchemaError), as a bad config is. */
export function loadSchemas(dir: string, log: Logger): SchemaRegistry {
  const { registry, issues } = loadSchemasDir(dir);
  if (issues.length) throw new SchemaError(issues);
  if (registry.size) log.info({ schemas: registry.size, dir }, `${registry.size} payload schema${registry.size === 1 ? '' : 's'} loaded`);
  return registry;
}

export function loadSchemasDir(dir: string): SchemasDirResult {
  let files: string[];
  try {
    files = listSchemaFiles(dir);
  } catch (err) {
    return { registry: new SchemaRegistry([]), issues: [{ file: dir, line: null, key: '', message: `cannot read schemas directory: ${(err as Error).message}` }] };
  }
  const issues: SchemaIssue[] = [];
  const schemas: PayloadSchema[] = [];
  /** "DeviceData/temperature" → the file that defined it first. */
  const owners = new Map<string, string>();
  const ajv = payloadCompiler();
  for (const file of files) {
    const r = loadSchemaFile(file, ajv);
    issues.push(...r.issues);
    if (r.schema === null) continue;
    const key = `${r.schema.type}/${r.schema.sensor ?? '*'}`;
    const first = owners.get(key);
    if (first !== undefined) {
      issues.push({ file, line: r.line, key: r.schema.sensor === null ? 'type' : 'sensor', message: `${describe(r.schema)} already has a schema in ${first}; this file is skipped` });
      continue;
    }
    owners.set(key, file);
    schemas.push(r.schema);
  }
  return { registry: new SchemaRegistry(schemas), issues };
}

function describe(s: PayloadSchema): string {
  return s.sensor === null ? `type ${s.type}` : `type ${s.type} with sensor ${s.sensor}`;
}

export function loadSchemaFile(file: string, ajv: Ajv = payloadCompiler(), text?: string): { schema: PayloadSchema | null; issues: SchemaIssue[]; line: number | null } {
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { schema: null, issues: [{ file, line: null, key: '', message: `cannot read schema file: ${(err as Error).message}` }], line: null };
    }
  }
  const { parsed, issues: syntax } = parseYaml(text, file);
  if (syntax.length) return { schema: null, issues: syntax, line: null };
  let data: unknown;
  try {
    data = parsed.doc.toJS();
  } catch (err) {
    return { schema: null, issues: [{ file, line: 1, key: '', message: (err as Error).message }], line: null };
  }
  const line = lineOf(parsed, ['type'], true);
  const shape = validateAgainst(SchemaFileSchema, data, parsed, file);
  if (shape.length) return { schema: null, issues: shape, line };
  const raw = data as RawSchemaFile;
  const issues: SchemaIssue[] = [];
  const issue = (path: Path, message: string, preferKey = true): void => {
    issues.push({ file, line: lineOf(parsed, path, preferKey), key: path.join('.'), message });
  };
  if (raw.sensor !== undefined && raw.type !== 'DeviceData') issue(['sensor'], `a sensor applies to DeviceData only (type is ${raw.type})`);
  const versions: SchemaVersion[] = [];
  raw.versions.forEach((v, i) => {
    const at = ['versions', i];
    const previous = raw.versions[i - 1];
    if (previous !== undefined && v.version <= previous.version) {
      issue([...at, 'version'], `expected a version larger than the previous entry's ${previous.version}, got ${v.version}`, false);
    }
    if (i === 0 && v.upcast !== undefined) issue([...at, 'upcast'], 'the first version has nothing to upcast from: remove upcast here');
    const validate = compileSchema(ajv, v.schema, [...at, 'schema'], parsed, issues);
    const steps = (v.upcast ?? []).flatMap((step, j): UpcastStep[] => {
      try {
        return [compileStep(step, [...at, 'upcast', j])];
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        issue(err.path, err.message);
        return [];
      }
    });
    if (validate !== null) versions.push({ version: v.version, label: String(v.version), validate, upcast: i === 0 ? null : { version: String(v.version), steps } });
  });
  if (issues.length) return { schema: null, issues, line };
  return { schema: { file: basename(file), type: raw.type, sensor: raw.sensor ?? null, versions }, issues, line };
}

/** The version's JSON Schema compiled; null after adding its issues, each at the line of the keyword at fault. */
function compileSchema(ajv: Ajv, schema: object | boolean, at: Path, parsed: ParsedYaml, issues: SchemaIssue[]): ValidateFunction | null {
  const file = parsed.file;
  if (!ajv.validateSchema(schema)) {
    for (const e of ajv.errors ?? []) {
      const path = [...at, ...e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))];
      issues.push({ file, line: lineOf(parsed, path), key: path.join('.'), message: `not a valid JSON Schema: ${e.message ?? 'invalid'}` });
    }
    return null;
  }
  try {
    return ajv.compile(schema);
  } catch (err) {
    const message = (err as Error).message;
    // Strict mode names the unknown keyword: point at the first place the schema has it.
    const keyword = /unknown keyword: "([^"]+)"/.exec(message)?.[1];
    const path = [...at, ...(keyword === undefined ? [] : keyPath(schema, keyword) ?? [])];
    issues.push({ file, line: lineOf(parsed, path, true), key: path.join('.'), message: `cannot compile the JSON Schema: ${message}` });
    return null;
  }
}

/** The path of the first `key` in a JSON value, depth first; null when it has none. */
function keyPath(v: unknown, key: string): string[] | null {
  if (typeof v !== 'object' || v === null) return null;
  if (!Array.isArray(v) && Object.hasOwn(v, key)) return [key];
  for (const [k, child] of Object.entries(v)) {
    const sub = keyPath(child, key);
    if (sub !== null) return [k, ...sub];
  }
  return null;
}
