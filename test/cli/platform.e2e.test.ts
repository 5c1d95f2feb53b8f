// bin/edgebus.js refuses a too-old C library before it loads anything native: the message
// says why and what to do, the exit code is 2, and nothing is started or written.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GLIBC_OVERRIDE_ENV } from '../../src/util/platform-check.js';
import { GLIBC_NEEDS } from '../../src/util/platform.js';
import { runCli, writeConfig } from '../helpers/daemon.js';
import { tempDirFor } from '../helpers/tmp.js';

const need = GLIBC_NEEDS[process.arch];

describe('start-up platform check', { skip: process.platform !== 'linux' || !need ? 'only on a Linux arch edgebus has prebuilds for' : false }, () => {
  test('start on a glibc below the minimum exits 2 with the reason, and opens no store', async (t) => {
    const dir = tempDirFor(t);
    const config = writeConfig(dir);
    const r = await runCli(['start', '--config', config], { cwd: dir, env: { [GLIBC_OVERRIDE_ENV]: '2.17' } });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^edgebus needs glibc >= ${need?.glibc.replace('.', '\\.')} on ${need?.label}[ ;].*this system has 2\\.17: upgrade to `));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(dir, 'data')), false, 'the daemon never started');
  });

  test('every verb is refused the same way, since each one loads the native modules', async () => {
    const r = await runCli(['events', '--json'], { env: { [GLIBC_OVERRIDE_ENV]: '2.17' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^edgebus needs glibc >= /);
  });

  test('the minimum itself passes the check and the CLI runs', async () => {
    const r = await runCli(['--help'], { env: { [GLIBC_OVERRIDE_ENV]: need?.glibc ?? '' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: edgebus <verb>/);
    assert.equal(r.stderr, '');
  });
});
