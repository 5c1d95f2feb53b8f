// `edgebus check --desired FILE` (README "Fleets" › "Desired state"), run as a child process:
// a document is validated as the gateway would before applying it, offline.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/daemon.js';
import { tempDirFor } from '../helpers/tmp.js';

const CONFIG = ['gatewayId: gw-1', 'rulesDir: ./rules', 'devicesDir: ./devices', 'upstream:', '  url: mqtt://127.0.0.1:1', ''].join('\n');
const HOT = ['id: hot', 'match: { type: DeviceData, sensor: temperature }', 'where: { value: { gt: 30 } }', ''].join('\n');
const COLD = ['id: cold', 'match: { type: DeviceData, sensor: temperature }', 'where: { value: { lt: 5 } }', ''].join('\n');

/** A gateway's folder: its config and one local rules file. */
function gateway(dir: string): void {
  writeFileSync(join(dir, 'edgebus.yaml'), CONFIG);
  mkdirSync(join(dir, 'rules'));
  writeFileSync(join(dir, 'rules', 'cold.yaml'), COLD);
}

/** Env for a CLI run: no EDGEBUS_* variables of the test runner's own. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of Object.keys(process.env)) if (key.startsWith('EDGEBUS_')) env[key] = undefined;
  return env;
}

test('a good document exits 0 and says what it would change, writing nothing', async (t) => {
  const dir = tempDirFor(t);
  gateway(dir);
  const doc = { version: 'v2', rules: { 'hot.yaml': HOT, 'cold.yaml': COLD }, routes: [{ name: 'hot', match: { sensor: 'temperature' }, upstream: 'edgebus/{gatewayId}/hot' }], config: { upstream: { batch: { maxEvents: 50 } } } };
  writeFileSync(join(dir, 'desired.json'), JSON.stringify(doc));
  const r = await runCli(['check', '--desired', 'desired.json'], { cwd: dir, env: cleanEnv() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /desired\.json: version v2, hash [0-9a-f]{64}\n/);
  assert.match(r.stdout, /rules\/hot\.yaml: new \(1 rule\)/);
  assert.match(r.stdout, /rules\/cold\.yaml: unchanged \(1 rule\)/);
  assert.match(r.stdout, /routes: 1 route replace the 0 configured/);
  assert.match(r.stdout, /config upstream\.batch\.maxEvents: 50/);
  assert.match(r.stdout, /desired\.json: ok/);
  assert.equal(readFileSync(join(dir, 'rules', 'cold.yaml'), 'utf8'), COLD);
  assert.throws(() => readFileSync(join(dir, 'rules', 'hot.yaml')), /ENOENT/, 'check never applies');
});

test('a bad document exits 1 with one name:line: key: message line per problem', async (t) => {
  const dir = tempDirFor(t);
  gateway(dir);
  const doc = [
    'version: 3', //                                     1
    'rules:', //                                         2
    '  hot.yaml: |', //                                  3
    '    id: hot', //                                    4 (rule line 1)
    '    match: { type: DeviceData }', //                5 (rule line 2)
    '    where: { value: { gtx: 30 } }', //              6 (rule line 3)
    '  dup.yaml: |', //                                  7
    '    id: cold', //                                   8 (the local rules/cold.yaml has it)
    '    match: { type: DeviceData }', //                9
    'routes:', //                                        10
    '  - upstream: a/{nope}', //                         11
    '', //
  ].join('\n');
  writeFileSync(join(dir, 'desired.yaml'), doc);
  const r = await runCli(['check', '--desired', 'desired.yaml'], { cwd: dir, env: cleanEnv() });
  assert.equal(r.code, 1, r.stdout);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.some((l) => /^rules\/hot\.yaml:3: where\.value\.gtx: unknown operator "gtx"/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^rules\/dup\.yaml:1: id: duplicate rule id "cold" \(already defined at .*rules\/cold\.yaml:1\)/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^desired\.yaml:11: routes\.0\.upstream: /.test(l)), r.stderr);
  assert.doesNotMatch(r.stdout, /desired\.yaml: ok/);
});

test('a document the gateway could not use at all is refused before any rule is read', async (t) => {
  const dir = tempDirFor(t);
  gateway(dir);
  writeFileSync(join(dir, 'desired.yaml'), 'version: 1\nconfig:\n  http: { port: 80 }\n');
  const r = await runCli(['check', '--desired', 'desired.yaml'], { cwd: dir, env: cleanEnv() });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^desired\.yaml:3: config\.http: unknown key \(expected one of: log, upstream, store, schedules\)$/m);
  const missing = await runCli(['check', '--desired', 'nothing.yaml'], { cwd: dir, env: cleanEnv() });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nothing\.yaml: cannot read desired-state document/);
});
