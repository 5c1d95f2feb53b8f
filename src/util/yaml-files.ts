// The YAML files of a configured folder (rules, device profiles, schemas): a folder that
// is not there holds none, as a fresh install has no rules yet.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The files in `dir` whose names match `pattern`, sorted, as full paths; a missing dir has none. */
export function listYamlFiles(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  return names.filter((n) => pattern.test(n)).sort().map((n) => join(dir, n));
}
