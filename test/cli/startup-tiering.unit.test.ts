// The daemon starts with TurboFan off (bin/edgebus.js's --no-opt) and turns it on once it
// serves: this checks that the switch at run time reaches V8's tier-up decisions, in a
// child started the way the shebang starts the daemon.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const tiering = fileURLToPath(new URL('../../src/cli/startup-tiering.js', import.meta.url));
const bin = fileURLToPath(new URL('../../../bin/edgebus.js', import.meta.url));

// %GetOptimizationStatus bit 4 (16): the function runs TurboFan code.
const TURBOFANNED = 16;
const probe = `
  const { enableOptimizingCompiler } = await import(${JSON.stringify(tiering)});
  function hot(x) { return x * 2 + 1; }
  function warm() { %PrepareFunctionForOptimization(hot); hot(1); hot(2); %OptimizeFunctionOnNextCall(hot); hot(3); }
  warm();
  const before = %GetOptimizationStatus(hot);
  enableOptimizingCompiler();
  warm();
  const after = %GetOptimizationStatus(hot);
  console.log(JSON.stringify({ before, after }));
`;

test('the shebang starts node without the optimising compiler', () => {
  const shebang = readFileSync(bin, 'utf8').split('\n')[0];
  assert.match(shebang, /\s--no-opt(\s|$)/);
});

test('enableOptimizingCompiler turns TurboFan back on in a process started with --no-opt', () => {
  const r = spawnSync(process.execPath, ['--no-opt', '--allow-natives-syntax', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
  assert.equal(before & TURBOFANNED, 0, `optimised before the switch (status ${before})`);
  assert.equal(after & TURBOFANNED, TURBOFANNED, `not optimised after the switch (status ${after})`);
});
