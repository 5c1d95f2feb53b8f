// What the OS says about the wall clock (src/time/sync.ts).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSyncSetting, SyncSource } from '../../src/time/sync.js';
import { tempDirFor } from '../helpers/tmp.js';

describe('SyncSource', () => {
  it('file: synchronised while the file exists', async (t) => {
    const dir = tempDirFor(t);
    const flag = join(dir, 'synced');
    const sync = new SyncSource(`file:${flag}`);
    assert.equal(await sync.refresh(), false);
    writeFileSync(flag, '');
    assert.equal(await sync.refresh(), true);
    rmSync(flag);
    assert.equal(await sync.refresh(), false);
  });

  it('always and never', async () => {
    assert.equal(await new SyncSource('always').refresh(), true);
    assert.equal(await new SyncSource('never').refresh(), false);
  });

  it('auto: timesyncd\'s flag file first, else timedatectl, asked at most once a minute', async (t) => {
    const dir = tempDirFor(t);
    const flag = join(dir, 'synchronized');
    let asked = 0;
    let answer: boolean | null = false;
    let now = 0;
    const sync = new SyncSource('auto', { flagFile: flag, timedatectl: async () => (asked++, answer), now: () => now });
    assert.equal(await sync.refresh(), false, 'the first answer is waited for');
    answer = true;
    now += 1_000;
    assert.equal(await sync.refresh(), false, 'not asked again within a minute');
    assert.equal(asked, 1);
    now += 60_000;
    await sync.refresh();
    await new Promise((r) => setImmediate(r));
    assert.equal(asked, 2);
    assert.equal(sync.current(), true);
    writeFileSync(flag, '');
    answer = null;
    now += 60_000;
    assert.equal(await sync.refresh(), true, 'the flag file needs no question');
    assert.equal(asked, 2);
  });

  it('reads its setting', () => {
    for (const ok of ['auto', 'always', 'never', 'file:/run/x']) assert.ok(isSyncSetting(ok), ok);
    for (const bad of ['', 'file:', 'sometimes', 'yes']) assert.ok(!isSyncSetting(bad), bad);
  });
});
