// The start-up platform decision (src/util/platform*.ts, native-modules.ts) with injected
// arches, glibc versions and loader errors: what passes, what is refused, and what it says.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explainLoadError, probeNativeModules, type NativeModule } from '../../src/util/native-modules.js';
import { checkPlatform, GLIBC_OVERRIDE_ENV } from '../../src/util/platform-check.js';
import { compareVersions, decidePlatform, GLIBC_NEEDS } from '../../src/util/platform.js';

describe('compareVersions', () => {
  test('compares each part as a number, not as text', () => {
    assert.equal(compareVersions('2.4', '2.34'), -1);
    assert.equal(compareVersions('2.34', '2.4'), 1);
    assert.equal(compareVersions('2.34', '2.34'), 0);
    assert.equal(compareVersions('2.34', '2.34.0'), 0);
    assert.equal(compareVersions('3.0', '2.99'), 1);
  });
});

describe('decidePlatform', () => {
  test('the minimums are the ones the README documents', () => {
    assert.deepEqual(GLIBC_NEEDS.x64, { label: 'x86_64', glibc: '2.28', glibcxx: '3.4.21' });
    assert.deepEqual(GLIBC_NEEDS.arm64, { label: 'arm64', glibc: '2.28', glibcxx: '3.4.21' });
    assert.deepEqual(GLIBC_NEEDS.arm, { label: 'armv7', glibc: '2.34', glibcxx: '3.4.29' });
  });

  for (const [arch, glibc] of [['x64', '2.28'], ['x64', '2.36'], ['arm64', '2.28'], ['arm64', '2.31'], ['arm', '2.34'], ['arm', '2.36'], ['arm', '2.41']] as const) {
    test(`linux-${arch} with glibc ${glibc} passes`, () => {
      assert.deepEqual(decidePlatform({ platform: 'linux', arch, glibc }), { ok: true });
    });
  }

  test('armv7 on Bullseye (2.31) is refused with the release and both ways out', () => {
    const v = decidePlatform({ platform: 'linux', arch: 'arm', glibc: '2.31' });
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason,
      'edgebus needs glibc >= 2.34 on armv7 (Raspberry Pi OS Bookworm); this system has 2.31 (Debian/Raspberry Pi OS Bullseye, Ubuntu 20.04): upgrade to Raspberry Pi OS Bookworm (or later), or use the 64-bit OS');
  });

  test('armv7 one minor below the floor (2.33) is refused; a version with no known release is shown bare', () => {
    const v = decidePlatform({ platform: 'linux', arch: 'arm', glibc: '2.33' });
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /this system has 2\.33: upgrade/);
  });

  test('x86_64 and arm64 below 2.28 are refused, naming the arch', () => {
    for (const [arch, label] of [['x64', 'x86_64'], ['arm64', 'arm64']] as const) {
      const v = decidePlatform({ platform: 'linux', arch, glibc: '2.27' });
      assert.equal(v.ok, false);
      assert.match(!v.ok ? v.reason : '', new RegExp(`^edgebus needs glibc >= 2\\.28 on ${label}; this system has 2\\.27: upgrade`));
    }
  });

  test('a Linux arch without prebuilds is refused, listing the ones that have them', () => {
    const v = decidePlatform({ platform: 'linux', arch: 'riscv64', glibc: '2.36' });
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /x86_64, arm64, armv7; this system is linux-riscv64/);
  });

  test('no glibc to judge (musl, macOS) leaves the decision to the native probe', () => {
    assert.deepEqual(decidePlatform({ platform: 'linux', arch: 'arm', glibc: undefined }), { ok: true });
    assert.deepEqual(decidePlatform({ platform: 'darwin', arch: 'arm64', glibc: undefined }), { ok: true });
  });
});

describe('explainLoadError', () => {
  const level: NativeModule = { name: 'classic-level', entry: 'classic-level/binding.js', optional: false };

  test('a missing symbol version names it and points at the OS upgrade, not a trace', () => {
    // The loader's own words on Bullseye armhf.
    const err = new Error("/usr/lib/arm-linux-gnueabihf/libc.so.6: version `GLIBC_2.34' not found (required by /opt/edgebus/node_modules/classic-level/prebuilds/linux-arm/classic-level.armv7.node)");
    assert.equal(explainLoadError(level, err, 'linux-arm'),
      'the classic-level prebuild needs GLIBC_2.34, which this system\'s C/C++ runtime lacks: upgrade the OS (see "Supported platforms" in the README)');
    const cxx = new Error("/lib/libstdc++.so.6: version `GLIBCXX_3.4.29' not found (required by x.node)");
    assert.match(explainLoadError(level, cxx, 'linux-arm'), /needs GLIBCXX_3\.4\.29/);
  });

  test('no prebuild for this platform says to install on this machine', () => {
    const err = new Error('No native build was found for platform=linux arch=arm runtime=node abi=115 uv=1 armv=7 libc=glibc node=20.11.0\n    loaded from: /x');
    assert.equal(explainLoadError(level, err, 'linux-arm'),
      'no classic-level prebuild for linux-arm was installed: run `npm ci --omit=dev` on this machine (an install copied from another CPU lacks it)');
  });

  test('anything else keeps the first line of the loader message', () => {
    assert.equal(explainLoadError(level, new Error('boom\n  at x'), 'linux-x64'), 'classic-level could not be loaded: boom');
  });
});

describe('probeNativeModules and checkPlatform', () => {
  test('the real prebuilds of this install load', () => {
    assert.deepEqual(probeNativeModules(), []);
    assert.deepEqual(checkPlatform({}), { fatal: [], warnings: [] });
  });

  test('an unloadable required module is fatal, an optional one a warning', () => {
    const missing: NativeModule[] = [
      { name: 'needed', entry: 'edgebus-no-such-native-module', optional: false },
      { name: 'nice-to-have', entry: 'edgebus-no-such-native-module-either', optional: true },
    ];
    const r = checkPlatform({}, missing);
    assert.equal(r.fatal.length, 1);
    assert.match(r.fatal[0] ?? '', /^edgebus cannot start: needed could not be loaded: Cannot find module 'edgebus-no-such-native-module'/);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? '', /^nice-to-have could not be loaded: .*; edgebus runs on the slower pure-JS decoder$/);
  });

  test(`${GLIBC_OVERRIDE_ENV} stands in for the runtime glibc, and a refusal skips the probe`, () => {
    const broken: NativeModule[] = [{ name: 'needed', entry: 'edgebus-no-such-native-module', optional: false }];
    const r = checkPlatform({ [GLIBC_OVERRIDE_ENV]: '2.0' }, broken);
    assert.equal(r.fatal.length, 1, 'only the glibc reason, no load error on top');
    assert.match(r.fatal[0] ?? '', /^edgebus needs glibc >= .*; this system has 2\.0: upgrade/);
    assert.deepEqual(checkPlatform({ [GLIBC_OVERRIDE_ENV]: '' }), { fatal: [], warnings: [] }, 'empty means unset');
  });
});
