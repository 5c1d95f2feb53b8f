// Where the daemon the benchmarks start lives, and the node flags on bin/edgebus.js's
// `#!/usr/bin/env -S node …` line: the benchmarks start the daemon (and the floor) with
// them, as `npm start` and systemd run it.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This file runs from dist/scripts/bench/lib. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const EDGEBUS_BIN = join(ROOT, 'bin', 'edgebus.js');

export function shebangFlags(): string[] {
  const first = readFileSync(EDGEBUS_BIN, 'utf8').split('\n', 1)[0];
  const m = /^#!\S*env -S node(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

/**
 * The shebang's heap flags without its --no-opt: the daemon turns the optimising compiler
 * back on once it serves (src/cli/startup-tiering.ts), a script started with these never would.
 */
export function heapFlags(): string[] {
  return shebangFlags().filter((f) => f !== '--no-opt');
}
