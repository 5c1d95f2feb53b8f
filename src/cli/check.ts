// `edgebus check` (SPEC §1): validate the config, then every rule file and every device
// profile; each problem is one `file:line: message` line on stderr.
import { routeCompiles } from '../routes/config-check.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { formatIssue, SchemaError, type SchemaIssue } from '../config/validate.js';
import { loadDevicesDir } from '../devices/loader.js';
import { loadRulesDir } from '../rules/loader.js';
import { readFileSync } from 'node:fs';
import { parseDesired } from '../config/desired-document.js';
import { checkDesired } from '../usecases/desired-check.js';
import { loadSchemasDir } from '../schemas/loader.js';
import { EXIT_OK, EXIT_USAGE, type Io } from './args.js';

interface CheckResult {
  /** The line printed when there are no issues, e.g. `5 rules in ./rules`. */
  summary: string;
  issues: SchemaIssue[];
}

function checkRules(config: Config): CheckResult {
  const { rules, issues } = loadRulesDir(config.rulesDir);
  return { summary: `${rules.length} rule${rules.length === 1 ? '' : 's'} in ${config.rulesDir}`, issues };
}

function checkDevices(config: Config): CheckResult {
  const { profiles, issues } = loadDevicesDir(config.devicesDir);
  return { summary: `${profiles.length} device${profiles.length === 1 ? '' : 's'} in ${config.devicesDir}`, issues };
}

function checkSchemas(config: Config): CheckResult {
  const { registry, issues } = loadSchemasDir(config.schemasDir);
  return { summary: `${registry.size} schema${registry.size === 1 ? '' : 's'} in ${config.schemasDir}`, issues };
}

/** What is checked after the config, in order; each prints its summary when it has no issues. */
const CHECKS: readonly ((config: Config) => CheckResult)[] = [checkRules, checkDevices, checkSchemas];

export function runCheck(opts: { config?: string; desired?: string }, io: Io): number {
  let config: Config;
  try {
    const loaded = loadConfig({ file: opts.config, routeCheck: routeCompiles });
    for (const w of loaded.warnings) io.err(`warning: ${w}\n`);
    io.out(`${loaded.file ?? 'built-in defaults'}: ok\n`);
    config = loaded.config;
  } catch (err) {
    if (err instanceof SchemaError) {
      io.err(err.message + '\n');
      return EXIT_USAGE;
    }
    throw err;
  }
  if (opts.desired !== undefined) return checkDesiredFile(opts.desired, config, io);
  let failed = false;
  for (const check of CHECKS) {
    const { summary, issues } = check(config);
    for (const issue of issues) io.err(formatIssue(issue) + '\n');
    if (issues.length) failed = true;
    else io.out(`${summary}: ok\n`);
  }
  return failed ? EXIT_USAGE : EXIT_OK;
}

/**
 * `edgebus check --desired FILE`: the document as the gateway would validate it before
 * applying, then what it would change here; the local config is the baseline.
 */
function checkDesiredFile(file: string, config: Config, io: Io): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    io.err(`${file}: cannot read desired-state document: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const { doc, parsed, issues, hash } = parseDesired(text, file);
  if (!doc || !parsed) {
    for (const issue of issues) io.err(formatIssue(issue) + '\n');
    return EXIT_USAGE;
  }
  io.out(`${file}: version ${doc.version}, hash ${hash}\n`);
  const check = checkDesired(doc, file, parsed, config);
  for (const issue of check.issues) io.err(formatIssue(issue) + '\n');
  if (check.issues.length) return EXIT_USAGE;
  for (const change of check.changes) io.out(`  ${change}\n`);
  if (!check.changes.length) io.out('  (changes nothing)\n');
  io.out(`${file}: ok\n`);
  return EXIT_OK;
}
