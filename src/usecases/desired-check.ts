// Checks a desired-state document against what this gateway would load (README "Fleets" ›
// "Desired state"): every rule file and device profile through the same loaders as
// `edgebus check`, routes through the config's route checks, config keys through the
// allow-listed schema; then says, file by file, what applying it would change here.
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { routeIssues } from '../config/load.js';
import type { DesiredDocument } from '../config/desired-schema.js';
import type { Config } from '../config/types.js';
import type { ParsedYaml, SchemaIssue } from '../config/validate.js';
import { loadDeviceFile } from '../devices/loader.js';
import { routeCompiles } from '../routes/config-check.js';
import { listRuleFiles, loadRuleFile, mergeRuleFiles } from '../rules/loader.js';
import type { CompiledRule } from '../rules/types.js';

export interface DesiredCheck {
  issues: SchemaIssue[];
  /** One line per file or section the document would change, e.g. `rules/hot.yaml: new`. */
  changes: string[];
}

/** How a managed file's new text compares with the one on disk. */
function fileChange(path: string, text: string): 'new' | 'changed' | 'unchanged' {
  let current: string;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    return 'new';
  }
  return current === text ? 'unchanged' : 'changed';
}

function checkRules(doc: DesiredDocument, config: Config, out: DesiredCheck): void {
  const files = doc.rules ?? {};
  const perFile = new Map<string, CompiledRule[]>();
  for (const [name, text] of Object.entries(files)) {
    const label = `rules/${name}`;
    const r = loadRuleFile(label, text);
    out.issues.push(...r.issues);
    perFile.set(label, r.rules);
    const n = r.rules.length;
    out.changes.push(`${label}: ${fileChange(join(config.rulesDir, name), text)} (${n} rule${n === 1 ? '' : 's'})`);
  }
  if (!perFile.size) return;
  // A rule id must stay unique across the managed files and the local ones they join.
  let local: string[] = [];
  try {
    local = listRuleFiles(config.rulesDir);
  } catch { /* an unreadable rules dir is `edgebus check`'s to report */ }
  for (const file of local) if (!(basename(file) in files)) perFile.set(file, loadRuleFile(file).rules);
  out.issues.push(...mergeRuleFiles(perFile).issues);
}

function checkDevices(doc: DesiredDocument, config: Config, out: DesiredCheck): void {
  for (const [name, text] of Object.entries(doc.devices ?? {})) {
    const label = `devices/${name}`;
    // The device loader names files by full path; the document's files have no path yet.
    const full = resolve(label);
    const r = loadDeviceFile(label, text);
    out.issues.push(...r.issues.map((i) => (i.file === full ? { ...i, file: label } : i)));
    out.changes.push(`${label}: ${fileChange(join(config.devicesDir, name), text)}`);
  }
}

function checkRoutes(doc: DesiredDocument, config: Config, file: string, parsed: ParsedYaml, out: DesiredCheck): void {
  if (!doc.routes) return;
  out.issues.push(...routeIssues({ routes: doc.routes, gatewayId: config.gatewayId, upstream: config.upstream }, file, parsed, routeCompiles));
  const n = doc.routes.length;
  out.changes.push(`routes: ${n} route${n === 1 ? '' : 's'} replace the ${config.routes.length} configured`);
}

function checkConfig(doc: DesiredDocument, config: Config, file: string, out: DesiredCheck): void {
  if (!doc.config) return;
  if (doc.config.upstream && !config.upstream) {
    out.issues.push({ file, line: null, key: 'config.upstream', message: 'this gateway has no upstream section (upstream.url) in its local config to tune' });
  }
  const walk = (value: unknown, path: string[]): void => {
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else out.changes.push(`config ${path.join('.')}: ${JSON.stringify(value)}`);
  };
  walk(doc.config, []);
}

/** `file` and `parsed` place route issues in the document; `config` is this gateway's. */
export function checkDesired(doc: DesiredDocument, file: string, parsed: ParsedYaml, config: Config): DesiredCheck {
  const out: DesiredCheck = { issues: [], changes: [] };
  checkRules(doc, config, out);
  checkDevices(doc, config, out);
  checkRoutes(doc, config, file, parsed, out);
  checkConfig(doc, config, file, out);
  return out;
}
