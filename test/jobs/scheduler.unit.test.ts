// The job scheduler (src/jobs/scheduler.ts) under a wall clock the test steps: a slot runs
// once however far the clock jumps forward, a step back re-plans instead of waiting for the
// old slot, and a job never overlaps itself. Slots here are 100 ms apart on a wall clock that
// runs with real time plus an offset the test moves.
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { createLogger } from '../../src/util/log.js';
import { waitFor } from '../helpers/wait.js';

const SLOT_MS = 100;
const log = createLogger({ level: 'silent', format: 'json' });

function steppedWall() {
  const clock = { offset: 0 };
  const wall = () => Date.now() + clock.offset;
  const slots = () => ({ next: () => (Math.floor(wall() / SLOT_MS) + 1) * SLOT_MS, close: () => {} });
  return { clock, wall, slots };
}

/** A scheduler on a stepped wall with one job, `tick`, due every slot; `runs()` counts its runs. */
function ticking() {
  const { clock, wall, slots } = steppedWall();
  const s = new Scheduler(log, { wall, slots });
  let runs = 0;
  s.add({ name: 'tick', schedule: 'every 100 ms', run: async () => void runs++ });
  return { clock, s, runs: () => runs };
}

describe('Scheduler', () => {
  it('runs a slot that comes, once, and goes on slot by slot', async () => {
    const { s, runs } = ticking();
    await waitFor(() => runs() >= 3, { message: 'three runs' });
    await s.stop();
  });

  it('runs once after a forward step of thirty days, not once per slot the step skipped', async () => {
    const { clock, s, runs } = ticking();
    await waitFor(() => runs() >= 1, { message: 'a first run' });
    const before = runs();
    clock.offset += 30 * 86_400_000; // 26 million slots skipped
    await waitFor(() => runs() >= before + 1, { message: 'a run after the step' });
    assert.ok(runs() < before + 20, `ran ${runs() - before} times since the step: once for the step, then slot by slot`);
    await s.stop();
  });

  it('re-plans at once when the clock steps back an hour, instead of waiting an hour for the old slot', async () => {
    const { clock, s, runs } = ticking();
    await waitFor(() => runs() >= 1, { message: 'a first run' });
    clock.offset -= 3_600_000;
    s.replan();
    const before = runs();
    await waitFor(() => runs() >= before + 2, { message: 'runs after the step back' });
    await s.stop();
  });

  it('never runs a job while its last run is still going', async () => {
    const { wall, slots } = steppedWall();
    const s = new Scheduler(log, { wall, slots });
    let running = 0;
    let most = 0;
    let firstAt = 0;
    let release: () => void = () => {};
    s.add({
      name: 'slow', schedule: 'every 100 ms',
      run: async () => {
        running++;
        most = Math.max(most, running);
        firstAt ||= wall();
        await new Promise<void>((r) => (release = r));
        running--;
      },
    });
    await waitFor(() => firstAt > 0, { message: 'the first run' });
    // Three slots come and go while it runs; none starts a second run.
    await waitFor(() => wall() > firstAt + 3 * SLOT_MS, { message: 'three slots passed' });
    assert.equal(s.runs().slow, 1);
    release();
    await waitFor(() => s.runs().slow >= 2, { message: 'a run after the first ended' });
    release();
    assert.equal(most, 1);
    await s.stop();
  });

  it('logs a failing run and goes on', async () => {
    const { wall, slots } = steppedWall();
    const s = new Scheduler(log, { wall, slots });
    let runs = 0;
    s.add({ name: 'flaky', schedule: 'every 100 ms', run: async () => { runs++; throw new Error('boom'); } });
    await waitFor(() => runs >= 2, { message: 'a second run after a failure' });
    await s.stop();
  });
});
const FAR = Date.parse('2100-01-01T00:00:00Z');

test('runNow runs a job at once, never overlapping a run of it, and leaves its schedule alone', async () => {
  const scheduler = new Scheduler(log, { slots: () => ({ next: () => FAR, close: () => {} }) });
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
  const scheduler = new Scheduler(log, { slots: () => ({ next: () => FAR, close: () => {} }) });
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
