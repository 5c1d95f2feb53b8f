// Reads `rules/*.yaml` (SPEC §5) into CompiledRules. Every mistake — YAML syntax, schema,
// a bad operator deep in `where` — comes back as a SchemaIssue with file and line, never as
// a throw, so `check`, the daemon and the watcher all report the same way.
//
// Which timing keys go together (checked in compileRule; the engine relies on it):
//   - at most one of `window`, `for`, `sequence`, `absent`; none of them = per event;
//   - `having` and `clear.having` need a `window` (aggregates are computed over one);
//   - `for` needs `where` (it is "where has held for this long");
//   - `sequence`: top-level `match` parts are defaults for steps that leave them out, and a
//     top-level `where` is ANDed into every step (the engine tests only the steps); no `clear`
//     (a sequence is an incident in itself);
//   - `absent`: `where` narrows what counts as "seen"; no `clear` (the next event clears it);
//   - `clear` needs `where` and/or `having`;
//   - `emit`: which keys go with which `type` (emit-compiler.ts).
import { readFileSync } from 'node:fs';
import { parseDuration } from '../config/units.js';
import { lineOf, parseYaml, validateAgainst, type ParsedYaml, type SchemaIssue } from '../config/validate.js';
import { compileHaving, parseAggregate } from './aggregates.js';
import { compileCondition, validateField } from './conditions.js';
import { compileEmit } from './emit-compiler.js';
import { RuleListSchema, RuleSchema, type RawMatch, type RawRule } from './schema.js';
import { RuleError, type AggregateRef, type CompiledRule, type Predicate, type RuleAction, type RuleMatch, type SequenceStep, type WindowSpec } from './types.js';
import { listYamlFiles } from '../util/yaml-files.js';

type Path = readonly (string | number)[];

export interface RuleFileResult {
  rules: CompiledRule[];
  issues: SchemaIssue[];
  /**
   * Ids of rules in the file that did not load, so a reload can keep their previous
   * versions; null when the file could not be split into rules (syntax error, a single-rule
   * file that failed, an item without a readable id): then all its previous rules stand.
   */
  failedIds: string[] | null;
}

export interface RulesDirResult {
  rules: CompiledRule[];
  issues: SchemaIssue[];
  /** Every rules file found, with the rules it contributes to `rules`. */
  files: Map<string, CompiledRule[]>;
}

const RULE_FILE = /\.ya?ml$/;

/** The rules files in `dir`, sorted, as full paths; a missing dir has none. */
export function listRuleFiles(dir: string): string[] {
  return listYamlFiles(dir, RULE_FILE);
}

export function loadRulesDir(dir: string): RulesDirResult {
  const perFile = new Map<string, CompiledRule[]>();
  const issues: SchemaIssue[] = [];
  let found: string[];
  try {
    found = listRuleFiles(dir);
  } catch (err) {
    return { rules: [], issues: [{ file: dir, line: null, key: '', message: `cannot read rules directory: ${(err as Error).message}` }], files: perFile };
  }
  for (const file of found) {
    const r = loadRuleFile(file);
    perFile.set(file, r.rules);
    issues.push(...r.issues);
  }
  const merged = mergeRuleFiles(perFile);
  return { rules: merged.rules, issues: [...issues, ...merged.issues], files: merged.files };
}

/**
 * One rule set from each file's rules, in file order: an id already defined by an earlier
 * file is an issue and the later rule is skipped.
 */
export function mergeRuleFiles(perFile: ReadonlyMap<string, readonly CompiledRule[]>): RulesDirResult {
  const byId = new Map<string, CompiledRule>();
  const rules: CompiledRule[] = [];
  const issues: SchemaIssue[] = [];
  const files = new Map<string, CompiledRule[]>();
  for (const file of [...perFile.keys()].sort()) {
    const kept: CompiledRule[] = [];
    for (const rule of perFile.get(file)!) {
      const first = byId.get(rule.id);
      if (first) {
        issues.push({ file: rule.file, line: rule.line, key: 'id', message: `duplicate rule id "${rule.id}" (already defined at ${first.file}:${first.line}); this one is skipped` });
        continue;
      }
      byId.set(rule.id, rule);
      kept.push(rule);
    }
    rules.push(...kept);
    files.set(file, kept);
  }
  return { rules, issues, files };
}

/** A file holding one rule (a mapping) or a list of rules. `text` spares the read (watcher, tests). */
export function loadRuleFile(file: string, text?: string): RuleFileResult {
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { rules: [], issues: [{ file, line: null, key: '', message: `cannot read rules file: ${(err as Error).message}` }], failedIds: null };
    }
  }
  const { parsed, issues: syntax } = parseYaml(text, file);
  if (syntax.length) return { rules: [], issues: syntax, failedIds: null };
  let data: unknown;
  try {
    data = parsed.doc.toJS();
  } catch (err) {
    return { rules: [], issues: [{ file, line: 1, key: '', message: (err as Error).message }], failedIds: null };
  }
  // A file of comments only (a rule switched off) holds no rules and is fine.
  if (data === null || data === undefined) return { rules: [], issues: [], failedIds: [] };

  const isList = Array.isArray(data);
  if (!isList && typeof data !== 'object') {
    return { rules: [], issues: [{ file, line: lineOf(parsed, []), key: '', message: 'expected a rule (a mapping with an id) or a list of rules' }], failedIds: null };
  }
  const items: unknown[] = Array.isArray(data) ? data : [data];
  const schemaIssues = dropSummaries(validateAgainst(isList ? RuleListSchema : RuleSchema, data, parsed, file));
  const issues: SchemaIssue[] = [];
  const rules: CompiledRule[] = [];
  const failed: (string | null)[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const at: Path = isList ? [i] : [];
    const own = isList ? schemaIssues.filter((s) => s.key === String(i) || s.key.startsWith(`${i}.`)) : schemaIssues;
    const id = (item as { id?: unknown } | null)?.id;
    const idText = typeof id === 'string' ? id : null;
    if (own.length) {
      issues.push(...own);
      failed.push(idText);
      return;
    }
    const raw = item as RawRule;
    const line = lineOf(parsed, at) ?? 1;
    const earlier = seen.get(raw.id);
    if (earlier !== undefined) {
      issues.push({ file, line: lineOf(parsed, [...at, 'id']), key: [...at, 'id'].join('.'), message: `duplicate rule id "${raw.id}" (already defined at line ${earlier}); this one is skipped` });
      return;
    }
    seen.set(raw.id, line);
    try {
      rules.push(compileRule(raw, file, line, at));
    } catch (err) {
      issues.push(issueFor(err, parsed, at));
      failed.push(idText);
    }
  });
  const failedIds = !isList && failed.length ? null : failed.includes(null) ? null : (failed as string[]);
  return { rules, issues, failedIds };
}

/**
 * `oneOrMany` reports a bad list item at its own key and then `must match "then" schema` at
 * the list's key; the second says nothing more, so it goes when a deeper issue exists.
 */
function dropSummaries(issues: SchemaIssue[]): SchemaIssue[] {
  return issues.filter((s) => !s.message.startsWith('must match "') || !issues.some((o) => o.key.startsWith(`${s.key}.`)));
}

function issueFor(err: unknown, parsed: ParsedYaml, at: Path): SchemaIssue {
  // Anything but a RuleError is a bug in a compiler; still, report it against the rule, not crash.
  const path = err instanceof RuleError ? err.path : at;
  const message = err instanceof Error ? err.message : String(err);
  return { file: parsed.file, line: lineOf(parsed, path, true), key: path.join('.'), message };
}

// ---------------------------------------------------------------------------------------
// Compiling one validated rule

const TIMING = ['window', 'for', 'sequence', 'absent'] as const;
const WINDOW_KINDS = ['sliding', 'tumbling', 'count', 'session'] as const;

/**
 * A schema-valid rule → CompiledRule: defaults resolved, durations in ms, conditions and
 * aggregates compiled. `at` is the rule's path in its file (`[]`, or `[i]` in a list);
 * throws a RuleError whose path starts with it.
 */
export function compileRule(raw: RawRule, file: string, line: number, at: Path = []): CompiledRule {
  const p = (...rest: (string | number)[]): Path => [...at, ...rest];
  const timing = TIMING.filter((k) => raw[k] !== undefined);
  if (timing.length > 1) {
    throw new RuleError(p(timing[1]), `cannot be combined with ${timing[0]}: a rule uses at most one of ${TIMING.join(', ')}`);
  }
  const window = raw.window === undefined ? null : compileWindow(raw.window, p('window'));
  if (raw.having !== undefined && window === null) {
    throw new RuleError(p('having'), 'needs a window to compute its aggregates over (e.g. window: { sliding: 60s })');
  }
  if (raw.clear?.having !== undefined && window === null) {
    throw new RuleError(p('clear', 'having'), 'needs a window to compute its aggregates over (e.g. window: { sliding: 60s })');
  }
  if (raw.for !== undefined && raw.where === undefined) {
    throw new RuleError(p('for'), 'needs a where: `for` means where has held for this long');
  }
  if (raw.clear !== undefined) {
    if (raw.sequence !== undefined) throw new RuleError(p('clear'), 'a sequence alert is an incident in itself: there is nothing to clear');
    if (raw.absent !== undefined) throw new RuleError(p('clear'), 'an absence alert is cleared by the next matching event');
    if (raw.clear.where === undefined && raw.clear.having === undefined) throw new RuleError(p('clear'), 'expected where and/or having');
  }

  const where = raw.where === undefined ? null : compileCondition(raw.where, p('where'));
  const topMatch = compileMatch(raw.match, null);
  const sequence = raw.sequence === undefined ? null : compileSequence(raw, topMatch, where, p);
  const having = raw.having === undefined ? [] : compileHaving(raw.having, p('having'));
  const clear = raw.clear === undefined ? null : {
    where: raw.clear.where === undefined ? null : compileCondition(raw.clear.where, p('clear', 'where')),
    having: raw.clear.having === undefined ? [] : compileHaving(raw.clear.having, p('clear', 'having')),
  };
  const groupBy = raw.groupBy === undefined ? null : toList(raw.groupBy);
  groupBy?.forEach((path, i) => validateField(path, Array.isArray(raw.groupBy) ? p('groupBy', i) : p('groupBy')));

  const emit = compileEmit(raw.emit, p('emit'));
  const actions = (raw.actions ?? []).map((a): RuleAction => ({
    publish: {
      topic: a.publish.topic,
      payload: typeof a.publish.payload === 'object' ? JSON.stringify(a.publish.payload) : String(a.publish.payload),
      qos: a.publish.qos ?? 1,
      retain: a.publish.retain ?? false,
    },
  }));

  const aggregates = new Map<string, AggregateRef>();
  for (const c of [...having, ...(clear?.having ?? [])]) aggregates.set(c.aggregate.key, c.aggregate);
  const templates: [string, Path][] = [[emit.topic, p('emit', 'topic')], [emit.message, p('emit', 'message')]];
  if (emit.payload !== null) templateStrings(emit.payload, p('emit', 'payload'), templates);
  (raw.actions ?? []).forEach((a, i) => {
    templates.push([a.publish.topic, p('actions', i, 'publish', 'topic')]);
    templateStrings(a.publish.payload, p('actions', i, 'publish', 'payload'), templates);
  });
  for (const [text, path] of templates) for (const ref of templateAggregates(text, path)) aggregates.set(ref.key, ref);

  return {
    id: raw.id,
    description: raw.description ?? null,
    file,
    line,
    // A sequence is matched by its steps: its own match and where are the union of theirs / folded in.
    match: sequence === null ? topMatch : unionMatch(sequence.map((s) => s.match)),
    where: sequence === null ? where : null,
    groupBy,
    window,
    having,
    sustainedMs: raw.for === undefined ? null : positive(raw.for, p('for')),
    sequence,
    absentMs: raw.absent === undefined ? null : positive(raw.absent, p('absent')),
    emit,
    clear,
    cooldownMs: parseDuration(raw.cooldown ?? 0),
    actions,
    aggregates: [...aggregates.values()],
  };
}

function positive(value: string | number, at: Path): number {
  const ms = parseDuration(value);
  if (!(ms > 0)) throw new RuleError(at, `must be longer than 0 (got ${JSON.stringify(value)})`);
  return ms;
}

function compileWindow(raw: NonNullable<RawRule['window']>, at: Path): WindowSpec {
  const kinds = WINDOW_KINDS.filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) {
    const got = kinds.length === 0 ? 'none' : kinds.join(' and ');
    throw new RuleError(at, `expected exactly one of ${WINDOW_KINDS.join(', ')} (got ${got})`);
  }
  const kind = kinds[0];
  switch (kind) {
    case 'count': return { kind, n: raw.count! };
    case 'session': return { kind, gapMs: positive(raw.session!, [...at, kind]) };
    default: return { kind, ms: positive(raw[kind]!, [...at, kind]) };
  }
}

function toList<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? [...new Set(v)] : [v];
}

function compileMatch(raw: RawMatch | undefined, defaults: RuleMatch | null): RuleMatch {
  return {
    types: raw?.type === undefined ? defaults?.types ?? null : toList(raw.type),
    sensors: raw?.sensor === undefined ? defaults?.sensors ?? null : toList(raw.sensor),
    sources: raw?.source === undefined ? defaults?.sources ?? null : toList(raw.source),
  };
}

/** What any of `ms` can match, part by part: a prefilter, wider than the steps together. */
function unionMatch(ms: readonly RuleMatch[]): RuleMatch {
  const part = <K extends keyof RuleMatch>(k: K): RuleMatch[K] =>
    (ms.some((m) => m[k] === null) ? null : [...new Set(ms.flatMap((m) => m[k] ?? []))]) as RuleMatch[K];
  return { types: part('types'), sensors: part('sensors'), sources: part('sources') };
}

function compileSequence(raw: RawRule, top: RuleMatch, where: Predicate | null, p: (...rest: (string | number)[]) => Path): SequenceStep[] {
  const names = new Set<string>();
  return raw.sequence!.map((s, i): SequenceStep => {
    if (names.has(s.as)) throw new RuleError(p('sequence', i, 'as'), `duplicate step name "${s.as}"`);
    names.add(s.as);
    if (i === 0 && s.within !== undefined) {
      throw new RuleError(p('sequence', 0, 'within'), 'the first step has no previous step to be within of');
    }
    const own = s.where === undefined ? null : compileCondition(s.where, p('sequence', i, 'where'));
    return {
      as: s.as,
      match: compileMatch(s.match, top),
      where: where === null ? own : own === null ? where : (e) => where(e) && own(e),
      withinMs: s.within === undefined ? null : positive(s.within, p('sequence', i, 'within')),
    };
  });
}

// ---------------------------------------------------------------------------------------
// Templates: `{name}` placeholders (see templates.ts)

const PLACEHOLDER = /\{([^{}]+)\}/g;
const BUILTIN = new Set(['rule', 'group', 'state', 'severity', 'correlationId']);
const AGGREGATE_LIKE = /^(count|[a-z]+\(.*\))$/;

/** The strings of an object payload, each with its path: placeholders live in values only. */
function templateStrings(v: unknown, at: Path, out: [string, Path][]): void {
  if (typeof v === 'string') out.push([v, at]);
  else if (Array.isArray(v)) v.forEach((x, i) => templateStrings(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) templateStrings(x, [...at, k], out);
}

/**
 * The aggregates a template names. Anything else must be a field an event can have, so a
 * typo (`{mx(value)}`, `{vaule}`) fails at load rather than rendering as nothing.
 */
function templateAggregates(text: string, at: Path): AggregateRef[] {
  const refs: AggregateRef[] = [];
  for (const [, name] of text.matchAll(PLACEHOLDER)) {
    if (BUILTIN.has(name)) continue;
    if (AGGREGATE_LIKE.test(name)) refs.push(parseAggregate(name, at));
    else validateField(name, at);
  }
  return refs;
}
