// Password hashes for broker.users (SPEC §2): scrypt, parameters carried in the hash.
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/security/password.js';

const FORMAT = /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/;

/** A hash made by hand with the given parameters (what another tool or an older default would write). */
function handMade(password: string, o: { N: number; r: number; p: number; salt?: Buffer; keyLen?: number }): string {
  const salt = o.salt ?? randomBytes(16);
  const key = scryptSync(password, salt, o.keyLen ?? 32, { N: o.N, r: o.r, p: o.p, maxmem: 256 * 1024 * 1024 });
  return `scrypt$${o.N}$${o.r}$${o.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

describe('hashPassword / verifyPassword', () => {
  test('a hash verifies its password and has the documented format', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.match(hash, FORMAT);
    const [, , , , salt, key] = hash.split('$');
    assert.equal(Buffer.from(salt, 'base64').length, 16);
    assert.equal(Buffer.from(key, 'base64').length, 32);
    assert.equal(isPasswordHash(hash), true);
    assert.equal(await verifyPassword('correct horse battery staple', hash), true);
  });

  test('a wrong password does not verify', async () => {
    const hash = await hashPassword('s3cret');
    for (const wrong of ['s3cre', 's3cret ', 'S3cret', '', 's3cret\n']) {
      assert.equal(await verifyPassword(wrong, hash), false, JSON.stringify(wrong));
    }
  });

  test('non-ASCII passwords round-trip', async () => {
    const hash = await hashPassword('pässwörd🔑');
    assert.equal(await verifyPassword('pässwörd🔑', hash), true);
    assert.equal(await verifyPassword('passwort🔑', hash), false);
  });

  test('two hashes of one password differ (random salt) and both verify', async () => {
    const a = await hashPassword('same');
    const b = await hashPassword('same');
    assert.notEqual(a, b);
    assert.notEqual(a.split('$')[4], b.split('$')[4]);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  test('the parameters stored in the hash are honoured', async () => {
    const cheap = handMade('pw', { N: 1024, r: 8, p: 1 });
    assert.equal(isPasswordHash(cheap), true);
    assert.equal(await verifyPassword('pw', cheap), true);
    assert.equal(await verifyPassword('px', cheap), false);
    const other = handMade('pw', { N: 2048, r: 4, p: 2, salt: randomBytes(8), keyLen: 64 });
    assert.equal(await verifyPassword('pw', other), true);
    // The same key under different stated parameters no longer verifies.
    const parts = cheap.split('$');
    parts[1] = '2048';
    assert.equal(await verifyPassword('pw', parts.join('$')), false);
  });
});

describe('malformed hashes are false, never a throw', () => {
  const salt = Buffer.alloc(16, 1).toString('base64');
  const key = Buffer.alloc(32, 2).toString('base64');
  const ok = `scrypt$16384$8$1$${salt}$${key}`;
  const cases: [string, string][] = [
    ['empty', ''],
    ['not scrypt', `bcrypt$16384$8$1$${salt}$${key}`],
    ['too few fields', `scrypt$16384$8$1$${salt}`],
    ['too many fields', `${ok}$x`],
    ['N not a number', `scrypt$abc$8$1$${salt}$${key}`],
    ['N not a power of two', `scrypt$16383$8$1$${salt}$${key}`],
    ['N below 2^10', `scrypt$512$8$1$${salt}$${key}`],
    ['N above 2^20', `scrypt$2097152$8$1$${salt}$${key}`],
    ['N negative', `scrypt$-16384$8$1$${salt}$${key}`],
    ['N with a leading zero', `scrypt$016384$8$1$${salt}$${key}`],
    ['N in hex', `scrypt$0x4000$8$1$${salt}$${key}`],
    ['N fractional', `scrypt$16384.0$8$1$${salt}$${key}`],
    ['r zero', `scrypt$16384$0$1$${salt}$${key}`],
    ['r above 32', `scrypt$16384$33$1$${salt}$${key}`],
    ['p zero', `scrypt$16384$8$0$${salt}$${key}`],
    ['p above 16', `scrypt$16384$8$17$${salt}$${key}`],
    ['empty salt', `scrypt$16384$8$1$$${key}`],
    ['salt shorter than 8 bytes', `scrypt$16384$8$1$${Buffer.alloc(7).toString('base64')}$${key}`],
    ['salt not base64', `scrypt$16384$8$1$!!!!$${key}`],
    ['empty key', `scrypt$16384$8$1$${salt}$`],
    ['key shorter than 16 bytes', `scrypt$16384$8$1$${salt}$${Buffer.alloc(15).toString('base64')}`],
    ['key longer than 64 bytes', `scrypt$16384$8$1$${salt}$${Buffer.alloc(65).toString('base64')}`],
    ['key not base64', `scrypt$16384$8$1$${salt}$${key.slice(0, -2)}*=`],
    ['whitespace around', ` ${ok} `],
  ];
  test('the well-formed base case is accepted (so the cases below test one fault each)', () => {
    assert.equal(isPasswordHash(ok), true);
  });
  for (const [name, hash] of cases) {
    test(name, async () => {
      assert.equal(isPasswordHash(hash), false);
      assert.equal(await verifyPassword('pw', hash), false);
    });
  }
  test('non-string input', async () => {
    assert.equal(isPasswordHash(undefined as unknown as string), false);
    assert.equal(await verifyPassword('pw', null as unknown as string), false);
  });
});
