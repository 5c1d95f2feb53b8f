// Running a scheduled job now (the disk watcher's prune): never beside a run of itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { createLogger } from '../../src/util/log.js';

const FAR = Date.parse('2100-01-01T00:00:00Z');

test('runNow runs a job at once, never overlapping a run of it, and leaves its schedule alone', async () => {
  const scheduler = new Scheduler(createLogger({ level: 'silent', format: 'json' }), { nextSlot: () => FAR });
  let active = 0;
  let most = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  scheduler.add({
    name: 'prune', schedule: '* * * * *',
    run: async () => {
      active++;
      most = Math.max(most, active);
      await gate;
      active--;
    },
  });
  try {
    const first = scheduler.runNow('prune');
    const second = scheduler.runNow('prune');
    assert.equal(active, 1, 'the first call started a run');
    release();
    assert.deepEqual(await Promise.all([first, second]), [true, false], 'the second call waited for the first run and started none');
    assert.equal(most, 1);
    assert.deepEqual(scheduler.runs(), { prune: 1 });
    gate = Promise.resolve();
    assert.equal(await scheduler.runNow('prune'), true, 'once the run ended, a new one starts');
    assert.deepEqual(scheduler.runs(), { prune: 2 });
    await assert.rejects(scheduler.runNow('nope'), /no job named "nope"/);
  } finally {
    await scheduler.stop();
  }
});

test('a job that throws at once still ends its run: the next runNow runs it again', async () => {
  const scheduler = new Scheduler(createLogger({ level: 'silent', format: 'json' }), { nextSlot: () => FAR });
  let calls = 0;
  scheduler.add({
    name: 'bad', schedule: '* * * * *',
    run: () => {
      calls++;
      throw new Error('boom');
    },
  });
  try {
    assert.equal(await scheduler.runNow('bad'), true);
    assert.equal(await scheduler.runNow('bad'), true);
    assert.equal(calls, 2);
  } finally {
    await scheduler.stop();
  }
});
