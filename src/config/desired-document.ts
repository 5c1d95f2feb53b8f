// Reads a desired-state document (JSON or YAML: JSON is YAML, so one parser gives both
// the data and the line of every key for `file:line: key: message`) and computes its hash.
import { createHash } from 'node:crypto';
import { DesiredSchema, type DesiredDocument } from './desired-schema.js';
import { lineOf, parseYaml, validateAgainst, type ParsedYaml, type SchemaIssue } from './validate.js';

/** A file name the gateway may write: no folders, no hidden files, a YAML extension. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$/;

export interface ParsedDesired {
  /** Null when the document is unusable (syntax or schema issues). */
  doc: DesiredDocument | null;
  parsed: ParsedYaml | null;
  issues: SchemaIssue[];
  /** sha256 of the document's canonical JSON; null when it does not parse. */
  hash: string | null;
}

export function parseDesired(text: string, file: string): ParsedDesired {
  const { parsed, issues: syntax } = parseYaml(text, file);
  if (syntax.length) return { doc: null, parsed: null, issues: syntax, hash: null };
  let data: unknown;
  try {
    data = parsed.doc.toJS();
  } catch (err) {
    return { doc: null, parsed, issues: [{ file, line: 1, key: '', message: (err as Error).message }], hash: null };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { doc: null, parsed, issues: [{ file, line: 1, key: '', message: 'expected a mapping with version and any of rules, devices, routes, config' }], hash: null };
  }
  // Hash what was sent, before validation fills in the routes' defaults.
  const hash = desiredHash(data);
  const issues = validateAgainst(DesiredSchema, data, parsed, file);
  for (const section of ['rules', 'devices'] as const) {
    const files: unknown = (data as Record<string, unknown>)[section];
    if (files === null || typeof files !== 'object' || Array.isArray(files)) continue;
    for (const name of Object.keys(files)) {
      if (!FILE_NAME.test(name)) {
        issues.push({ file, line: lineOf(parsed, [section, name], true), key: `${section}.${name}`, message: 'expected a file name such as "alerts.yaml" (letters, digits, . _ -, ending .yaml or .yml; no folders)' });
      }
    }
  }
  return { doc: issues.length ? null : (data as DesiredDocument), parsed, issues, hash };
}

/** The same content gives the same hash however its keys are ordered or its text laid out. */
export function desiredHash(data: unknown): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
