// scripts/arm/check.sh (CI's arm step): shellcheck-clean, and an unknown argument is
// refused before it installs or downloads anything. The arm run itself takes minutes under
// qemu, so CI runs it once after `npm test` rather than from a test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';

const SCRIPT = join(ROOT, 'scripts', 'arm', 'check.sh');

describe('scripts/arm/check.sh', () => {
  test('shellcheck passes', () => {
    const r = spawnSync('shellcheck', [SCRIPT], { encoding: 'utf8' });
    if (r.error) assert.fail(`shellcheck is needed for this test (apt-get install -y shellcheck): ${r.error.message}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('an unknown argument prints the usage and exits 1, doing nothing else', () => {
    const r = spawnSync('bash', [SCRIPT, '--bogus'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'usage: scripts/arm/check.sh [--no-build]\n');
  });
});

describe('.ci/run', () => {
  test('runs the arm step after the test suite', () => {
    const lines = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n');
    const tests = lines.indexOf('npm test');
    const arm = lines.indexOf('scripts/arm/check.sh --no-build');
    assert.ok(tests >= 0, 'npm test is in .ci/run');
    assert.ok(arm > tests, 'the arm step comes after npm test, whose build it reuses');
  });
});
