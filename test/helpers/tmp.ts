import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory under the OS temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'edgebus-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh directory, removed once the test `t` ends, passed or failed. */
export function tempDirFor(t: TestContext, prefix?: string): string {
  const { dir, cleanup } = tempDir(prefix);
  t.after(cleanup);
  return dir;
}
