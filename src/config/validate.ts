// Validates a YAML document against a schema and reports every problem as
// `file:line: key: message`. Shared by the config, rule and device-profile loaders.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import cron from 'node-cron';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { DURATION_HINT, DURATION_PATTERN, FREE_SPACE_HINT, isFreeSpace, SIZE_HINT, SIZE_PATTERN } from './units.js';
import { isSyncSetting } from '../time/sync.js';

export interface SchemaIssue {
  file: string;
  line: number | null;
  key: string;
  message: string;
}

export function formatIssue(issue: SchemaIssue): string {
  const where = issue.line === null ? issue.file : `${issue.file}:${issue.line}`;
  return issue.key ? `${where}: ${issue.key}: ${issue.message}` : `${where}: ${issue.message}`;
}

export class SchemaError extends Error {
  constructor(readonly issues: SchemaIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'SchemaError';
  }
}

const FORMAT_HINTS: Record<string, string> = {
  duration: DURATION_HINT,
  size: SIZE_HINT,
  'free-space': FREE_SPACE_HINT,
  cron: 'a cron expression such as "*/5 * * * *"',
  'clock-sync': 'auto, always, never or file:PATH',
};

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
ajv.addFormat('duration', { type: 'string', validate: new RegExp(DURATION_PATTERN) });
ajv.addFormat('size', { type: 'string', validate: new RegExp(SIZE_PATTERN) });
ajv.addFormat('free-space', { type: 'string', validate: isFreeSpace });
ajv.addFormat('cron', { type: 'string', validate: (s: string) => cron.validate(s) });
ajv.addFormat('clock-sync', { type: 'string', validate: isSyncSetting });

const compiled = new WeakMap<TSchema, ValidateFunction>();
function compile(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

export interface ParsedYaml {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export function parseYaml(text: string, file: string): { parsed: ParsedYaml; issues: SchemaIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line,
    key: '',
    message: e.message.split('\n')[0],
  }));
  return { parsed: { file, doc, lines }, issues };
}

/** Where a path points in the YAML source: the key of the deepest node that exists. */
export function lineOf(parsed: ParsedYaml, path: readonly (string | number)[], preferKey = false): number | null {
  let node: unknown = parsed.doc.contents;
  let line: number | null = node && (node as Node).range ? parsed.lines.linePos((node as Node).range![0]).line : null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(seg));
      if (!pair) break;
      const keyNode = pair.key as Node | null;
      if (keyNode?.range) line = parsed.lines.linePos(keyNode.range[0]).line;
      node = pair.value;
      if (!preferKey && node && (node as Node).range) line = parsed.lines.linePos((node as Node).range![0]).line;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as Node | undefined;
      if (!item) break;
      if (item.range) line = parsed.lines.linePos(item.range[0]).line;
      node = item;
    } else break;
  }
  return line;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

function messageFor(e: ErrorObject, value: unknown): string {
  const got = `got ${describe(value)}`;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      return `unknown key (expected one of: ${allowed.join(', ')})`;
    }
    case 'required':
      return `missing required key "${String(p.missingProperty)}"`;
    case 'type':
      return `expected ${String(p.type).replace(',', ' or ')}, ${got}`;
    case 'enum':
      return `expected one of ${(p.allowedValues as unknown[]).map(String).join(', ')}, ${got}`;
    case 'format':
      return `expected ${FORMAT_HINTS[String(p.format)] ?? String(p.format)}, ${got}`;
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum':
      return `expected a number ${String(p.comparison)} ${String(p.limit)}, ${got}`;
    case 'minLength':
      return `expected a non-empty string, ${got}`;
    case 'pattern': {
      const desc = (e.parentSchema as { description?: string }).description;
      return `expected ${desc ?? `a value matching ${String(p.pattern)}`}, ${got}`;
    }
    default:
      return `${e.message ?? 'is invalid'}, ${got}`;
  }
}

export interface ValidateOptions {
  /** Paths (dotted) whose value came from an environment variable, with that variable's name. */
  envSources?: Map<string, string>;
}

/**
 * Validates `data` (already taken from `parsed`, possibly with env overrides) in place:
 * defaults are filled in. Returns the issues, one per bad key.
 */
export function validateAgainst(schema: TSchema, data: unknown, parsed: ParsedYaml | null, file: string, opts: ValidateOptions = {}): SchemaIssue[] {
  const validate = compile(schema);
  if (validate(data)) return [];
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const e of validate.errors ?? []) {
    // A value that fails both its type and its format gives two errors: keep the first.
    const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (e.keyword === 'additionalProperties') path.push(String((e.params as { additionalProperty: string }).additionalProperty));
    const key = path.join('.');
    if (seen.has(key)) continue;
    seen.add(key);
    const value = e.keyword === 'required' ? undefined : valueAt(data, path);
    const env = opts.envSources?.get(key);
    issues.push({
      file: env ? `env ${env}` : file,
      line: env || !parsed ? null : lineOf(parsed, path, e.keyword === 'additionalProperties'),
      key,
      message: messageFor(e, value),
    });
  }
  return issues;
}
