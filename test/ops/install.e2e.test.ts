// scripts/install.sh: shellcheck-clean, a dry run that lists its steps, and real installs
// under a throwaway --root (twice: the second changes nothing), then --uninstall.
// --skip-npm keeps these fast: `npm ci --omit=dev` is npm's job, not the script's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const SCRIPT = join(ROOT, 'scripts', 'install.sh');
const APP_ITEMS = ['bin', 'dist/src', 'proto', 'devices', 'rules', 'systemd', 'scripts', 'package.json', 'package-lock.json', 'README.md'];

function install(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout + r.stderr };
}

/** Every path under `dir` with its mode and, for files, a content hash. */
function snapshot(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = join(rel, name);
    const st = lstatSync(join(dir, path));
    const hash = st.isFile() ? createHash('sha1').update(readFileSync(join(dir, path))).digest('hex') : '';
    out.push(`${path} ${st.mode.toString(8)} ${st.mtimeMs} ${hash}`);
    if (st.isDirectory()) out.push(...snapshot(dir, path));
  }
  return out;
}

describe('scripts/install.sh', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  // A frozen copy of the checkout: other builds of this repo must not change it between runs.
  const source = join(tmp.dir, 'src');
  for (const item of APP_ITEMS) cpSync(join(ROOT, item), join(source, item), { recursive: true });

  test('shellcheck passes', () => {
    const r = spawnSync('shellcheck', [SCRIPT], { encoding: 'utf8' });
    if (r.error) assert.fail(`shellcheck is needed for this test (apt-get install -y shellcheck): ${r.error.message}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('--dry-run prints the steps and changes nothing', () => {
    // A dry run reads the real root: on a host with edgebus installed its steps differ.
    if (existsSync('/opt/edgebus') || existsSync('/etc/edgebus')) assert.fail('this test needs a host without /opt/edgebus and /etc/edgebus (edgebus is installed here)');
    const { code, out } = install(['--dry-run', '--source', source]);
    assert.equal(code, 0, out);
    const steps = [
      `+ cp -a ${source}/bin /opt/edgebus/bin`,
      `+ cp -a ${source}/dist/src /opt/edgebus/dist/src`,
      // The Sparkplug B schema, which the daemon compiles at start.
      `+ cp -a ${source}/proto /opt/edgebus/proto`,
      '+ npm --prefix /opt/edgebus ci --omit=dev --ignore-scripts',
      '+ mkdir -p /etc/edgebus/rules /etc/edgebus/devices',
      `+ install -m 0640 ${source}/systemd/edgebus.example.yaml /etc/edgebus/edgebus.yaml`,
      '+ chgrp edgebus /etc/edgebus/edgebus.yaml',
      '+ install -d -m 0750 /var/lib/edgebus',
      '+ chown edgebus:edgebus /var/lib/edgebus',
      `+ install -m 0644 ${source}/systemd/edgebus.service /etc/systemd/system/edgebus.service`,
      '+ systemctl daemon-reload',
      '+ systemctl enable --now edgebus.service',
    ];
    let at = -1;
    for (const step of steps) {
      const next = out.indexOf(step, at + 1);
      assert.ok(next > at, `missing or out of order: ${step}\n${out}`);
      at = next;
    }
    assert.ok(out.includes('+ useradd --system --user-group --groups dialout --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin edgebus') || out.includes('user edgebus: ok'), out);
    assert.equal(existsSync('/opt/edgebus'), false, 'a dry run created /opt/edgebus');
  });

  test('refuses an old Node with a clear message', () => {
    const bin = join(tmp.dir, 'old-node');
    mkdirSync(bin);
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho 18.19.0\n');
    chmodSync(join(bin, 'node'), 0o755);
    const { code, out } = install(['--root', join(tmp.dir, 'old'), '--source', source, '--skip-npm'], { PATH: `${bin}:${process.env.PATH}` });
    assert.equal(code, 1);
    assert.match(out, /edgebus needs Node\.js >= 20, found 18\.19\.0/);
  });

  test('--root installs the tree; a second run changes nothing and keeps the config', () => {
    const root = join(tmp.dir, 'root');
    const first = install(['--root', root, '--source', source, '--skip-npm']);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /skipped \(--root\): user edgebus/);
    assert.match(first.out, /skipped \(--root\): systemctl enable --now edgebus\.service/);
    for (const path of ['etc/systemd/system/edgebus.service', 'etc/edgebus/edgebus.yaml', 'opt/edgebus/bin/edgebus.js', 'opt/edgebus/dist/src/cli/main.js']) {
      assert.ok(lstatSync(join(root, path)).isFile(), path);
    }
    for (const path of ['var/lib/edgebus', 'etc/edgebus/rules', 'etc/edgebus/devices']) assert.ok(lstatSync(join(root, path)).isDirectory(), path);
    assert.equal(lstatSync(join(root, 'var/lib/edgebus')).mode & 0o777, 0o750);
    assert.equal(lstatSync(join(root, 'etc/edgebus/edgebus.yaml')).mode & 0o777, 0o640);
    assert.equal(readFileSync(join(root, 'etc/systemd/system/edgebus.service'), 'utf8'), readFileSync(join(source, 'systemd/edgebus.service'), 'utf8'));
    // The example config is a valid config with the system paths.
    const { config } = loadConfig({ file: join(root, 'etc/edgebus/edgebus.yaml'), env: {} });
    assert.deepEqual([config.dataDir, config.rulesDir, config.devicesDir], ['/var/lib/edgebus', '/etc/edgebus/rules', '/etc/edgebus/devices']);

    appendFileSync(join(root, 'etc/edgebus/edgebus.yaml'), 'gatewayId: my-pi # edited\n');
    const before = snapshot(root);
    const second = install(['--root', root, '--source', source, '--skip-npm']);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /edgebus is installed: nothing to change/);
    assert.deepEqual(snapshot(root), before);
    assert.match(readFileSync(join(root, 'etc/edgebus/edgebus.yaml'), 'utf8'), /gatewayId: my-pi # edited/);
  });

  test('--uninstall removes the unit and the app, keeps config and data; --purge removes those', () => {
    const root = join(tmp.dir, 'uninstall');
    assert.equal(install(['--root', root, '--source', source, '--skip-npm']).code, 0);
    writeFileSync(join(root, 'var/lib/edgebus/keep'), 'data');
    const removed = install(['--uninstall', '--root', root, '--source', source]);
    assert.equal(removed.code, 0, removed.out);
    assert.equal(existsSync(join(root, 'etc/systemd/system/edgebus.service')), false);
    assert.equal(existsSync(join(root, 'opt/edgebus')), false);
    assert.ok(existsSync(join(root, 'etc/edgebus/edgebus.yaml')));
    assert.ok(existsSync(join(root, 'var/lib/edgebus/keep')));
    const again = install(['--uninstall', '--root', root, '--source', source]);
    assert.equal(again.code, 0, again.out);
    const purged = install(['--uninstall', '--purge', '--root', root, '--source', source]);
    assert.equal(purged.code, 0, purged.out);
    assert.equal(existsSync(join(root, 'etc/edgebus')), false);
    assert.equal(existsSync(join(root, 'var/lib/edgebus')), false);
  });
});
