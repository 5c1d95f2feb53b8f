// The file swap behind desired state (src/usecases/managed-files.ts), on a real folder:
// all new files or, after a failure part-way, all old ones, and no temporary file left.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { restoreFiles, swapFiles } from '../../src/usecases/managed-files.js';
import { tempDirFor } from '../helpers/tmp.js';

test('a swap writes, replaces and removes, and restore puts every file back', (t) => {
  const dir = tempDirFor(t);
  writeFileSync(join(dir, 'a.yaml'), 'old a');
  writeFileSync(join(dir, 'gone.yaml'), 'old gone');
  writeFileSync(join(dir, 'local.yaml'), 'mine');
  const previous = swapFiles(dir, new Map([['a.yaml', 'new a'], ['b.yaml', 'new b'], ['gone.yaml', null]]));
  assert.deepEqual(readdirSync(dir).sort(), ['a.yaml', 'b.yaml', 'local.yaml']);
  assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), 'new a');
  restoreFiles(dir, previous);
  assert.deepEqual(readdirSync(dir).sort(), ['a.yaml', 'gone.yaml', 'local.yaml']);
  assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), 'old a');
  assert.equal(readFileSync(join(dir, 'gone.yaml'), 'utf8'), 'old gone');
});

test('a failure part-way leaves the old files, no temporary ones, and names the file', (t) => {
  const dir = tempDirFor(t);
  writeFileSync(join(dir, 'a.yaml'), 'old a');
  mkdirSync(join(dir, 'z.yaml'));
  assert.throws(() => swapFiles(dir, new Map([['a.yaml', 'new a'], ['n.yaml', 'new n'], ['z.yaml', 'new z']])), /^Error: z\.yaml: /);
  assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), 'old a');
  assert.ok(!existsSync(join(dir, 'n.yaml')), 'a file that did not exist before is gone again');
  assert.deepEqual(readdirSync(dir).sort(), ['a.yaml', 'z.yaml']);
});
