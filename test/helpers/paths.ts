// Where the checkout is, for tests that read its files or run its programs. Every compiled
// test runs from dist/test/…, so the root is found from this file, not from the caller.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/test/helpers). */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
/** The `edgebus` command as installed. */
export const BIN = join(ROOT, 'bin', 'edgebus.js');
