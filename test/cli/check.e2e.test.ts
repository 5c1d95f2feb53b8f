// `edgebus check` and the CLI's config lookup (SPEC §1, §2), run as a child process: the
// config, the rules and the device profiles (SPEC §6) it checks.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';

const BAD = [
  'gatewayId: gw-1', //              1
  'bogusKey: 1', //                  2
  'store:', //                       3
  '  reorderWindow: 2 parsecs', //   4
  '  durability: fsync', //          5
  '',
].join('\n');
const GOOD = ['gatewayId: gw-1', 'store:', '  reorderWindow: 500ms', 'broker:', '  port: 1884', ''].join('\n');
const DEVICE_EXAMPLES = join(ROOT, 'devices');

/** Env for a CLI run: no EDGEBUS_* variables of the test runner's own. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of Object.keys(process.env)) if (key.startsWith('EDGEBUS_')) env[key] = undefined;
  return { ...env, ...extra };
}

describe('edgebus check', () => {
  const tmp = tempDir();
  const empty = tempDir(); // a cwd without edgebus.yaml
  let bad: string;
  let good: string;

  before(() => {
    bad = join(tmp.dir, 'bad.yaml');
    good = join(tmp.dir, 'good.yaml');
    writeFileSync(bad, BAD);
    writeFileSync(good, GOOD);
  });
  after(() => {
    tmp.cleanup();
    empty.cleanup();
  });

  test('a bad config exits 1 with one file:line: key: message line per problem', async () => {
    const r = await runCli(['check', '--config', bad], { cwd: empty.dir, env: cleanEnv() });
    assert.equal(r.code, 1);
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith(bad));
    const unknown = lines.find((l) => l.startsWith(`${bad}:2: bogusKey: `));
    assert.ok(unknown, `an unknown-key line for line 2 in:\n${r.stderr}`);
    assert.match(unknown, /unknown key/);
    const duration = lines.find((l) => l.startsWith(`${bad}:4: store.reorderWindow: `));
    assert.ok(duration, `a bad-duration line for line 4 in:\n${r.stderr}`);
    assert.match(duration, /duration/);
    assert.match(duration, /2 parsecs/, 'the message names the bad value');
    assert.equal(lines.length, 2, 'no error for the valid keys');
  });

  test('a good config exits 0', async () => {
    const r = await runCli(['check', '--config', good], { cwd: empty.dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /good\.yaml: ok/);
  });

  test('without --config or ./edgebus.yaml, $EDGEBUS_CONFIG names the file', async () => {
    const r1 = await runCli(['check'], { cwd: empty.dir, env: cleanEnv({ EDGEBUS_CONFIG: bad }) });
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /bad\.yaml:2: bogusKey: /);
    const r2 = await runCli(['check'], { cwd: empty.dir, env: cleanEnv({ EDGEBUS_CONFIG: good }) });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /good\.yaml: ok/);
  });

  test('./edgebus.yaml comes before $EDGEBUS_CONFIG, and --config before both', async () => {
    const cwd = tempDir();
    try {
      writeFileSync(join(cwd.dir, 'edgebus.yaml'), GOOD);
      const local = await runCli(['check'], { cwd: cwd.dir, env: cleanEnv({ EDGEBUS_CONFIG: bad }) });
      assert.equal(local.code, 0, local.stderr);
      assert.match(local.stdout, /edgebus\.yaml: ok/);
      const explicit = await runCli(['check', '--config', bad], { cwd: cwd.dir, env: cleanEnv({ EDGEBUS_CONFIG: good }) });
      assert.equal(explicit.code, 1);
      assert.match(explicit.stderr, /bad\.yaml:4: store\.reorderWindow: /);
    } finally {
      cwd.cleanup();
    }
  });

  test('with no config at all, the built-in defaults are valid', async () => {
    const r = await runCli(['check'], { cwd: empty.dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
  });

  test('a bad EDGEBUS_<PATH> override is an error naming the variable', async () => {
    const r = await runCli(['check', '--config', good], { cwd: empty.dir, env: cleanEnv({ EDGEBUS_STORE_REORDER_WINDOW: 'soon' }) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EDGEBUS_STORE_REORDER_WINDOW/);
    assert.match(r.stderr, /store\.reorderWindow/);
  });

  test('the example rules in rules/ pass', async () => {
    const rulesDir = join(ROOT, 'rules');
    const config = join(tmp.dir, 'examples.yaml');
    writeFileSync(config, `rulesDir: ${JSON.stringify(rulesDir)}\n`);
    const r = await runCli(['check', '--config', config], { cwd: empty.dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`5 rules in ${rulesDir}: ok`), r.stdout);
  });

  test('a bad rule file exits 1 with file:line: key: message; the good ones are not reported', async () => {
    const cwd = tempDir();
    try {
      const rulesDir = join(cwd.dir, 'rules');
      mkdirSync(rulesDir);
      writeFileSync(join(rulesDir, 'good.yaml'), 'id: fine\nwhere: { value: { gt: 1 } }\n');
      const bad = join(rulesDir, 'bad.yaml');
      writeFileSync(bad, ['id: hot', 'match: { type: DeviceData }', 'where:', '  value: { gtt: 30 }', 'window: { sliding: 60 parsecs }', ''].join('\n'));
      writeFileSync(join(cwd.dir, 'edgebus.yaml'), GOOD);
      const r = await runCli(['check'], { cwd: cwd.dir, env: cleanEnv() });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /edgebus\.yaml: ok/, 'the config itself is fine');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.deepEqual(lines, [`${bad}:5: window.sliding: expected a duration such as 500ms, 30s, 5m, 2h or 7d, got "60 parsecs"`], r.stderr);

      writeFileSync(bad, ['id: hot', 'where:', '  value: { gtt: 30 }', ''].join('\n'));
      const r2 = await runCli(['check'], { cwd: cwd.dir, env: cleanEnv() });
      assert.equal(r2.code, 1);
      const line = r2.stderr.split('\n').find((l) => l.startsWith(`${bad}:3: where.value.gtt: `));
      assert.ok(line, `a line for the bad operator in:\n${r2.stderr}`);
      assert.match(line, /unknown operator "gtt"/);
    } finally {
      cwd.cleanup();
    }
  });

  test('an unknown verb exits 1 with the usage', async () => {
    const r = await runCli(['bogus'], { cwd: empty.dir, env: cleanEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown verb "bogus"/);
    assert.match(r.stderr, /usage: edgebus/);
  });
});

describe('edgebus check with device profiles', () => {
  test('the example profiles pass and are counted', async (t) => {
    const dir = tempDirFor(t);
    const config = join(dir, 'edgebus.yaml');
    writeFileSync(config, `rulesDir: ${JSON.stringify(join(ROOT, 'rules'))}\ndevicesDir: ${JSON.stringify(DEVICE_EXAMPLES)}\n`);
    const r = await runCli(['check', '--config', config], { cwd: dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`4 devices in ${DEVICE_EXAMPLES}: ok`), r.stdout);
  });

  test('a bad profile exits 1 with file:line: key: message; the good one is not reported', async (t) => {
    const tmpDir = tempDirFor(t);
    const dir = join(tmpDir, 'devices');
    mkdirSync(dir);
    writeFileSync(join(dir, 'good.yaml'), 'id: fine\nserial: { path: /dev/ttyUSB0 }\nformat: json\n');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['id: hexer', 'serial: { path: /dev/ttyUSB1 }', 'format: hex', 'fields:', '  - { name: a, offset: 0, type: u8 }', '  - { name: b, type: u16 }', ''].join('\n'));
    writeFileSync(join(tmpDir, 'edgebus.yaml'), 'gatewayId: gw-1\n');
    const r = await runCli(['check'], { cwd: tmpDir, env: cleanEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /edgebus\.yaml: ok/, 'the config itself is fine');
    assert.match(r.stdout, /0 rules in .*: ok/, 'the rules are checked as before');
    assert.deepEqual(r.stderr.split('\n').filter(Boolean), [`${bad}:6: fields[1].offset: hex fields need offset and type`]);
    assert.doesNotMatch(r.stdout, /devices in/);

    writeFileSync(bad, 'id: hexer\nserial: { path: /dev/ttyUSB1 }\nformat: hex\nfields: [{ name: b, offset: 0, type: u16 }]\n');
    const ok = await runCli(['check'], { cwd: tmpDir, env: cleanEnv() });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.stdout.includes(`2 devices in ${dir}: ok`), ok.stdout);
  });
});
