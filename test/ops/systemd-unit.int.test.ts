// systemd/edgebus.service passes `systemd-analyze verify` (unknown keys, bad values, missing
// executables). The unit names /opt/edgebus/bin/edgebus.js, which is not installed here: a
// copy with /opt/edgebus/ pointing at this checkout is verified instead.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const UNIT = join(ROOT, 'systemd', 'edgebus.service');

describe('systemd unit', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test('systemd-analyze verify is clean', () => {
    const copy = join(tmp.dir, 'edgebus.service');
    writeFileSync(copy, readFileSync(UNIT, 'utf8').replaceAll('/opt/edgebus/', `${ROOT}/`));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    if (r.error) assert.fail(`systemd-analyze is needed for this test (apt-get install -y systemd): ${r.error.message}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd-analyze verify warnings');
  });

  test('Type=notify with a watchdog, as SPEC §8 asks', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of [
      'Type=notify', 'NotifyAccess=all', 'WatchdogSec=30', 'TimeoutStartSec=60', 'Restart=on-failure',
      'User=edgebus', 'SupplementaryGroups=dialout', 'StateDirectory=edgebus', 'ProtectSystem=strict', 'NoNewPrivileges=true',
    ]) assert.match(unit, new RegExp(`^${line}$`, 'm'));
    assert.match(unit, /^ExecStart=\/opt\/edgebus\/bin\/edgebus\.js start --config \/etc\/edgebus\/edgebus\.yaml$/m);
  });
});
