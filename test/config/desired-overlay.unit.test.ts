// The desired-state overlay (src/config/desired-overlay.ts) as loadConfig reads it: laid over
// the local edgebus.yaml from dataDir, the environment still winning.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { DESIRED_OVERLAY_FILE } from '../../src/config/desired-overlay.js';
import { loadConfig } from '../../src/config/load.js';
import { SchemaError } from '../../src/config/validate.js';
import { tempDirFor } from '../helpers/tmp.js';

function setUp(dir: string, local: object, overlay: string | null): string {
  const file = join(dir, 'edgebus.yaml');
  writeFileSync(file, stringify({ dataDir: join(dir, 'data'), ...local }));
  mkdirSync(join(dir, 'data'));
  if (overlay !== null) writeFileSync(join(dir, 'data', DESIRED_OVERLAY_FILE), overlay);
  return file;
}

test('routes replace the local ones and config keys merge over the file', (t) => {
  const dir = tempDirFor(t);
  const file = setUp(dir, {
    upstream: { url: 'mqtt://cloud:1883', batch: { maxEvents: 50, linger: '20ms' } },
    log: { level: 'warn', format: 'json' },
    routes: [{ name: 'old', match: { type: 'Alert' }, local: 'alerts' }],
  }, stringify({ routes: [{ name: 'new', match: { sensor: 'humidity' }, upstream: 'h' }], config: { upstream: { batch: { maxEvents: 3 } }, log: { level: 'debug' } } }));
  const { config } = loadConfig({ file, env: {} });
  assert.deepEqual(config.routes.map((r) => r.name), ['new']);
  assert.equal(config.upstream?.batch.maxEvents, 3);
  assert.equal(config.upstream?.batch.linger, 20, 'keys the overlay leaves out keep the file\'s value');
  assert.equal(config.log.level, 'debug');
  assert.equal(config.log.format, 'json');
});

test('the environment wins over the overlay', (t) => {
  const dir = tempDirFor(t);
  const file = setUp(dir, { log: { level: 'warn' } }, stringify({ config: { log: { level: 'debug' } } }));
  assert.equal(loadConfig({ file, env: { EDGEBUS_LOG_LEVEL: 'error' } }).config.log.level, 'error');
});

test('upstream keys tune an upstream section, never create one', (t) => {
  const dir = tempDirFor(t);
  const file = setUp(dir, {}, stringify({ config: { upstream: { batch: { maxEvents: 3 } } } }));
  assert.equal(loadConfig({ file, env: {} }).config.upstream, undefined);
});

test('an overlay that is not a mapping is a config error naming it', (t) => {
  const dir = tempDirFor(t);
  const file = setUp(dir, {}, '- a\n- b\n');
  assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => err instanceof SchemaError && /desired-config\.yaml: expected a mapping/.test(err.message));
});
