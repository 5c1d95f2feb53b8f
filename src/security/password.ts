// Password hashes for broker.users (SPEC §2): scrypt with its parameters in the hash, so
// a hash made today still verifies after the defaults change. Made by `edgebus passwd`.
//
// Format: `scrypt$N$r$p$<salt base64>$<key base64>`.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });

const DEFAULT = { N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

/** What a stored hash may ask for: enough to be safe, bounded so a hash cannot exhaust a Pi's memory (128 × N × r × p ≤ 128 MiB). */
const LIMITS = { minLogN: 10, maxLogN: 16, maxR: 8, maxP: 2, minSalt: 8, minKey: 16, maxKey: 64 } as const;

const DECIMAL = /^[1-9][0-9]{0,7}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(text: string): ParsedHash | null {
  if (typeof text !== 'string') return null;
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, nText, rText, pText, saltText, keyText] = parts;
  if (!DECIMAL.test(nText) || !DECIMAL.test(rText) || !DECIMAL.test(pText)) return null;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  if (N < 2 ** LIMITS.minLogN || N > 2 ** LIMITS.maxLogN || (N & (N - 1)) !== 0) return null;
  if (r > LIMITS.maxR || p > LIMITS.maxP) return null;
  if (!saltText || !keyText || !BASE64.test(saltText) || !BASE64.test(keyText)) return null;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length < LIMITS.minSalt || key.length < LIMITS.minKey || key.length > LIMITS.maxKey) return null;
  return { N, r, p, salt, key };
}

/** Memory scrypt needs for these parameters (128·N·r·p), plus headroom for Node's own check. */
function maxmemFor(N: number, r: number, p: number): number {
  return 128 * N * r * p + 32 * 1024 * 1024;
}

/** Hashes `password` with scrypt (N=16384, r=8, p=1) and a random 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = DEFAULT;
  const salt = randomBytes(DEFAULT.saltBytes);
  const key = await scrypt(password, salt, DEFAULT.keyBytes, { N, r, p, maxmem: maxmemFor(N, r, p) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `hash`; false (never a throw) for a malformed or out-of-range hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (!parsed || typeof password !== 'string') return false;
  const { N, r, p, salt, key } = parsed;
  let derived: Buffer;
  try {
    derived = await scrypt(password, salt, key.length, { N, r, p, maxmem: maxmemFor(N, r, p) });
  } catch {
    return false;
  }
  return timingSafeEqual(derived, key);
}

/** Whether `text` is a well-formed hash made by `edgebus passwd` (config validation). */
export function isPasswordHash(text: string): boolean {
  return parseHash(text) !== null;
}
