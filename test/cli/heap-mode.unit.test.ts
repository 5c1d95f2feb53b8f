import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { HeapPolicy, heapModeOf, RELAXED, SATURATED } from '../../src/cli/heap-mode.js';
import { BIN } from '../helpers/paths.js';

describe('heap mode (EDGEBUS_HEAP)', () => {
  it('is auto unless told otherwise, small or fast on request, and refuses anything else', () => {
    assert.equal(heapModeOf({}), 'auto');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: '' }), 'auto');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: 'auto' }), 'auto');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: 'small' }), 'small');
    assert.equal(heapModeOf({ EDGEBUS_HEAP: 'fast' }), 'fast');
    assert.throws(() => heapModeOf({ EDGEBUS_HEAP: 'tiny' }), /EDGEBUS_HEAP: expected auto, small or fast, got "tiny"/);
  });

  it('a misspelt mode stops `edgebus start` as a usage error, before anything is opened', () => {
    const r = spawnSync(process.execPath, [BIN, 'start'], { env: { ...process.env, EDGEBUS_HEAP: 'tiny', EDGEBUS_DATA_DIR: '/nonexistent/never-created' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /EDGEBUS_HEAP: expected auto, small or fast, got "tiny"/);
  });
});

describe('the auto policy', () => {
  const busy = SATURATED.utilisation;
  const quiet = RELAXED.utilisation;
  const ingesting = SATURATED.ingestPerSecond;

  it('starts small and turns saturated only after ingest keeps the event loop saturated', () => {
    const p = new HeapPolicy();
    assert.equal(p.setting, 'small');
    for (let i = 1; i < SATURATED.samples; i++) assert.equal(p.sample(busy, ingesting), null);
    assert.equal(p.sample(busy, ingesting), 'saturated');
    assert.equal(p.setting, 'saturated');
    assert.equal(p.sample(1, ingesting), null, 'said once');
  });

  it('a busy second between quiet ones does not switch', () => {
    const p = new HeapPolicy();
    assert.ok(SATURATED.samples > 1, 'one busy second is not saturation');
    for (let i = 0; i < 10; i++) {
      assert.equal(p.sample(busy, ingesting), null);
      assert.equal(p.sample(0.1, ingesting), null);
    }
    assert.equal(p.setting, 'small');
  });

  it('a loop saturated by something other than ingest (a drain, a rebuild) stays small', () => {
    const p = new HeapPolicy();
    for (let i = 0; i < 10 * SATURATED.samples; i++) assert.equal(p.sample(1, ingesting - 1), null);
    assert.equal(p.setting, 'small');
  });

  it('returns to small only after the load has stayed low, and a load in between keeps it saturated', () => {
    const p = new HeapPolicy();
    for (let i = 0; i < SATURATED.samples; i++) p.sample(1, ingesting);
    assert.equal(p.setting, 'saturated');
    for (let i = 1; i < RELAXED.samples; i++) assert.equal(p.sample(quiet, ingesting), null);
    assert.equal(p.sample((busy + quiet) / 2, ingesting), null, 'between the thresholds: stays');
    for (let i = 1; i < RELAXED.samples; i++) assert.equal(p.sample(0, ingesting), null, 'the count started again');
    assert.equal(p.sample(0, ingesting), 'small');
    assert.equal(p.setting, 'small');
  });

  it('returns to small when ingest falls away under a loop that stays saturated (a drain after the outage)', () => {
    const p = new HeapPolicy();
    for (let i = 0; i < SATURATED.samples; i++) p.sample(1, ingesting);
    assert.equal(p.setting, 'saturated');
    for (let i = 1; i < RELAXED.samples; i++) assert.equal(p.sample(1, RELAXED.ingestPerSecond), null, 'half the rate still counts as ingesting');
    for (let i = 1; i < RELAXED.samples; i++) assert.equal(p.sample(1, RELAXED.ingestPerSecond - 1), null);
    assert.equal(p.sample(1, 0), 'small');
  });
});
