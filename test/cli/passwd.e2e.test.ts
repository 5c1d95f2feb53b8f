// `edgebus passwd` (SPEC §1): a password in, its scrypt hash out, for broker.users.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { runPasswd, type PasswdInput } from '../../src/cli/passwd.js';
import { UsageError } from '../../src/cli/args.js';
import { isPasswordHash, verifyPassword } from '../../src/security/password.js';
import { runCli } from '../helpers/daemon.js';
import { tempDirFor } from '../helpers/tmp.js';

const PASSWORD = 'hunter2-Zebra!';

describe('edgebus passwd (piped stdin)', () => {
  test('prints only a hash that verifies, and never the password', async () => {
    const r = await runCli(['passwd'], { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^scrypt\$[^\n]+\n$/);
    const hash = r.stdout.trimEnd();
    assert.equal(isPasswordHash(hash), true);
    assert.equal(await verifyPassword(PASSWORD, hash), true);
    assert.equal(await verifyPassword(`${PASSWORD}\n`, hash), false, 'the trailing newline is not part of it');
    assert.equal(r.stderr, '');
    assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
  });

  test('only one trailing newline is removed; inner whitespace is kept', async () => {
    const r = await runCli(['passwd'], { input: ' two words \n\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await verifyPassword(' two words \n', r.stdout.trimEnd()), true);
  });

  test('input without a newline is the password as is', async () => {
    const r = await runCli(['passwd'], { input: PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await verifyPassword(PASSWORD, r.stdout.trimEnd()), true);
  });

  for (const [name, input] of [['empty stdin', ''], ['a lone newline', '\n']] as const) {
    test(`${name} exits 1: empty password`, async () => {
      const r = await runCli(['passwd'], { input });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /empty password/);
    });
  }

  test('needs no config file, and a broken one is not read', async (t) => {
    const dir = tempDirFor(t);
    const r = await runCli(['passwd', '--config', `${dir}/missing.yaml`], { cwd: dir, input: PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await verifyPassword(PASSWORD, r.stdout.trimEnd()), true);
  });

  test('extra arguments are a usage error', async () => {
    const r = await runCli(['passwd', PASSWORD], { input: PASSWORD });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
  });

  test('the usage lists the verb', async () => {
    const r = await runCli(['--help']);
    assert.match(r.stdout, /^ {2}passwd {2,}read a password/m);
  });
});

/** A stand-in TTY: what the user types, raw mode recorded. */
function fakeTty(): { input: PasswdInput & PassThrough; rawModes: boolean[] } {
  const rawModes: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: (mode: boolean) => rawModes.push(mode),
  });
  return { input, rawModes };
}

/** Runs runPasswd on a fake TTY, typing `keys` chunk by chunk. */
async function typed(keys: string[]): Promise<{ result: number | Error; out: string; err: string; rawModes: boolean[] }> {
  const { input, rawModes } = fakeTty();
  let out = '';
  let err = '';
  const running = runPasswd({ out: (t) => (out += t), err: (t) => (err += t) }, { input }).catch((e: Error) => e);
  for (const k of keys) {
    await new Promise((r) => setImmediate(r));
    input.write(k);
  }
  return { result: await running, out, err, rawModes };
}

describe('edgebus passwd (TTY prompts, in process)', () => {
  test('two matching entries print a hash; prompts go to stderr, echo stays off', async () => {
    const r = await typed(['hun', 'ter2\r', 'hunter2\r']);
    assert.equal(r.result, 0);
    assert.equal(r.err, 'Password: \nAgain: \n');
    assert.equal(await verifyPassword('hunter2', r.out.trimEnd()), true);
    assert.deepEqual(r.rawModes, [true, false], 'raw mode on, then restored');
    assert.ok(!(r.out + r.err).includes('hunter2'));
  });

  test('backspace deletes; arrow keys are ignored; a pasted second line is kept', async () => {
    const r = await typed(['pwX\u007fd\u001b[D\u001bOA\rpx\bwd\r']);
    assert.equal(r.result, 0);
    assert.equal(await verifyPassword('pwd', r.out.trimEnd()), true);
  });

  test('different entries exit 1: the passwords differ', async () => {
    const r = await typed(['one\r', 'two\r']);
    assert.ok(r.result instanceof UsageError);
    assert.match(r.result.message, /the passwords differ/);
    assert.equal(r.out, '');
    assert.deepEqual(r.rawModes, [true, false]);
  });

  test('Ctrl-C aborts with exit 1 and restores the terminal', async () => {
    const r = await typed(['secr', '\u0003']);
    assert.ok(r.result instanceof UsageError);
    assert.equal(r.out, '');
    assert.deepEqual(r.rawModes, [true, false]);
  });

  test('an empty first entry is an empty password', async () => {
    const r = await typed(['\r']);
    assert.ok(r.result instanceof UsageError);
    assert.match(r.result.message, /empty password/);
  });
});
