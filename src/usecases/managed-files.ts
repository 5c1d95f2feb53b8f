// Swaps a set of files in one folder for new contents so that a failure part-way leaves the
// old set: every new text is written beside its target under a temporary name first (the
// slow, failure-prone part), the old texts are kept, and only then are the new files renamed
// over the old ones. A failed rename puts every file back as it was.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file's text before the swap; null: it did not exist. */
export type Previous = Map<string, string | null>;

/** Name → new text; null removes the file. */
export type FileSet = ReadonlyMap<string, string | null>;

/** Hidden and not ending .yaml, so the rules watcher never loads a half-written file. */
const tempName = (name: string) => `.${name}.desired-tmp`;

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Replaces the files; returns what they held before, for restore(). Throws having restored them. */
export function swapFiles(dir: string, files: FileSet): Previous {
  const previous: Previous = new Map();
  const written: string[] = [];
  let current = '';
  try {
    for (const [name, text] of files) {
      if (text === null) continue;
      current = name;
      writeFileSync(join(dir, tempName(name)), text, { flush: true });
      written.push(name);
    }
  } catch (err) {
    for (const name of written) rmSync(join(dir, tempName(name)), { force: true });
    throw new Error(`${current}: ${(err as Error).message}`, { cause: err });
  }
  try {
    for (const [name, text] of files) {
      current = name;
      // Read just before it is replaced: `previous` holds exactly the files this swap touched.
      const before = readOrNull(join(dir, name));
      if (text === null) rmSync(join(dir, name), { force: true });
      else renameSync(join(dir, tempName(name)), join(dir, name));
      previous.set(name, before);
    }
  } catch (err) {
    for (const name of written) rmSync(join(dir, tempName(name)), { force: true });
    restoreFiles(dir, previous);
    throw new Error(`${current}: ${(err as Error).message}`, { cause: err });
  }
  return previous;
}

/** Puts back what swapFiles() replaced, each file through a temporary name as well. */
export function restoreFiles(dir: string, previous: Previous): void {
  for (const [name, text] of previous) {
    const path = join(dir, name);
    if (text === null) {
      rmSync(path, { force: true });
      continue;
    }
    if (readOrNull(path) === text) continue;
    writeFileSync(join(dir, tempName(name)), text, { flush: true });
    renameSync(join(dir, tempName(name)), path);
  }
}
