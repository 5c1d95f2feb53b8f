// A document waiting on a restart (src/usecases/desired-pending.ts), on real folders: rolling
// it back puts every folder's files back and records why, once.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clearPending, readPending, rollBackPending, writePending } from '../../src/usecases/desired-pending.js';
import { swapFiles } from '../../src/usecases/managed-files.js';
import { tempDirFor } from '../helpers/tmp.js';

test('rolling back a pending document restores each folder and records the failure once', (t) => {
  const dir = tempDirFor(t);
  const [data, devices] = [join(dir, 'data'), join(dir, 'devices')];
  mkdirSync(data);
  mkdirSync(devices);
  writeFileSync(join(data, 'desired-config.yaml'), 'routes: []\n');
  writeFileSync(join(devices, 'a.yaml'), 'old a');
  const previous = [
    { dir: data, files: Object.fromEntries(swapFiles(data, new Map([['desired-config.yaml', 'config: {}\n']]))) },
    { dir: devices, files: Object.fromEntries(swapFiles(devices, new Map([['a.yaml', 'new a'], ['b.yaml', 'new b']]))) },
  ];
  writePending(data, { version: 2, hash: 'h', backtest: {}, ruleIds: [], rules: {}, devices: {}, previous });
  assert.equal(rollBackPending(data, 'restart: listen EADDRINUSE'), true);
  assert.equal(readFileSync(join(data, 'desired-config.yaml'), 'utf8'), 'routes: []\n');
  assert.equal(readFileSync(join(devices, 'a.yaml'), 'utf8'), 'old a');
  assert.ok(!existsSync(join(devices, 'b.yaml')));
  assert.equal(readPending(data)?.failure, 'restart: listen EADDRINUSE');
  assert.equal(rollBackPending(data, 'again'), false, 'a document already rolled back is not rolled back twice');
  clearPending(data);
  assert.equal(readPending(data), null);
  assert.equal(rollBackPending(data, 'nothing'), false);
});
