// Durations and sizes as users write them in YAML ("500ms", "30s", "64kB").
// A bare number is taken as milliseconds / bytes.

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)$/;

const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  kB: 1_000, KB: 1_024, KiB: 1_024,
  MB: 1_000_000, MiB: 1_048_576,
  GB: 1_000_000_000, GiB: 1_073_741_824,
};

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

export const DURATION_PATTERN = DURATION.source;
export const SIZE_PATTERN = SIZE.source;
export const DURATION_HINT = 'a duration such as 500ms, 30s, 5m, 2h or 7d';
export const SIZE_HINT = 'a size such as 64kB, 512MB or 2GB';

export const FREE_SPACE_HINT = 'a size such as 256MB, a percentage of the file system below 100% such as 5%, or 0 (off)';

/** Free space to keep on a file system: bytes, or a share of its size. `{ bytes: 0 }` is off. */
export type FreeSpace = { bytes: number } | { percent: number };

export function isFreeSpace(value: string): boolean {
  try {
    parseFreeSpace(value);
    return true;
  } catch {
    return false;
  }
}

export function parseFreeSpace(value: string | number): FreeSpace {
  if (typeof value === 'number' || value.trim() === '0') return { bytes: parseSize(typeof value === 'number' ? value : 0) };
  const m = PERCENT.exec(value.trim());
  if (m === null) {
    if (SIZE.test(value.trim())) return { bytes: parseSize(value) };
    throw new RangeError(`expected ${FREE_SPACE_HINT}, got ${JSON.stringify(value)}`);
  }
  const percent = Number(m[1]);
  if (percent >= 100) throw new RangeError(`expected ${FREE_SPACE_HINT}, got ${JSON.stringify(value)}`);
  return { percent };
}

/** The bytes a FreeSpace stands for on a file system of `totalBytes`. */
export function freeSpaceBytes(space: FreeSpace, totalBytes: number): number {
  return 'bytes' in space ? space.bytes : Math.round((totalBytes * space.percent) / 100);
}

export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = DURATION.exec(value.trim());
  if (!m) throw new RangeError(`expected ${DURATION_HINT}, got ${JSON.stringify(value)}`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2]]);
}

export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = SIZE.exec(value.trim());
  if (!m) throw new RangeError(`expected ${SIZE_HINT}, got ${JSON.stringify(value)}`);
  return Math.round(Number(m[1]) * SIZE_BYTES[m[2]]);
}

/** "10m" or an ISO date → epoch ms, relative to `now`. Used by --since style flags. */
export function parseSince(value: string, now = Date.now()): number {
  if (DURATION.test(value.trim())) return now - parseDuration(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new RangeError(`expected ${DURATION_HINT} or an ISO time, got ${JSON.stringify(value)}`);
  return t;
}
