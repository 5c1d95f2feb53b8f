import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { heapModeOf } from '../../src/cli/heap-mode.js';
import { BIN } from '../helpers/paths.js';

describe('heap mode (EDGEBUS_HEAP)', () => {
  it('is small unless told otherwise, fast on request, and refuses anything else', () => {
    assert.equal(heapModeOf({}), 'small');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: '' }), 'small');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: 'small' }), 'small');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: 'fast' }), 'fast');
    assert.throws(() => heapModeOf({ EDGEBUS_HEAP: 'tiny' }), /EDGEBUS_HEAP: expected small or fast, got "tiny"/);
  });

  it('a misspelt mode stops `edgebus start` as a usage error, before anything is opened', () => {
    const r = spawnSync(process.execPath, [BIN, 'start'], { env: { ...process.env, EDGEBUS_HEAP: 'tiny', EDGEBUS_DATA_DIR: '/nonexistent/never-created' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /EDGEBUS_HEAP: expected small or fast, got "tiny"/);
  });
});
