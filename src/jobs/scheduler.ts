// Built-in jobs on cron schedules (SPEC §2 `schedules`). node-cron reads the expressions and
// says when the next slot is; the waiting is done here, because node-cron's own runner
// walks every slot a forward step of the wall clock skipped (a 1970 → today step froze a
// process for minutes) and sleeps through a step back until the old slot comes round.
//
// Here a job sleeps at most MAX_SLEEP_MS (monotonic timers), then asks the wall clock
// again: a slot that has come is run once, however many a step skipped, and the next slot
// is planned from the wall clock as it reads then. A step (see time/watch.ts) re-plans at
// once. A job never overlaps itself, and a failing run is logged, never fatal.
import cron from 'node-cron';
import { nextSlot, plainFields } from './cron-slots.js';
import type { Logger } from '../util/log.js';

export interface Job {
  name: string;
  schedule: string;
  run: () => Promise<unknown>;
}

/** How long a job sleeps before looking at the wall clock again. */
const MAX_SLEEP_MS = 10_000;

/** A schedule's slots: the next one after the wall clock's now, epoch ms. */
export interface Slots {
  next(): number;
  close(): void | Promise<void>;
}

/**
 * node-cron's reading of an expression; its slots found by cron-slots.ts, or by node-cron's
 * own walker (the task is never started) for the special day tokens.
 */
function cronSlots(schedule: string, wall: () => number): Slots {
  const fields = plainFields(schedule);
  if (fields !== null) {
    return {
      // Never null for the defaults; an expression that never matches sleeps in MAX_SLEEP_MS steps.
      next: () => nextSlot(fields, wall()) ?? Number.MAX_SAFE_INTEGER,
      close: () => {},
    };
  }
  const task = cron.createTask(schedule, () => undefined);
  return { next: () => task.getNextRuns(1)[0].getTime(), close: () => task.destroy() };
}

export interface SchedulerOptions {
  /** The wall clock; default Date.now. */
  wall?: () => number;
  /** How a schedule's slots are found; default node-cron's. */
  slots?: (schedule: string) => Slots;
  /** Told of every run and whether it failed. */
  onRun?: (job: string, ok: boolean) => void;
}

interface Planned {
  job: Job;
  slots: Slots;
  /** The slot it waits for (wall clock). */
  due: number;
  timer: NodeJS.Timeout | null;
  /** The run in progress, if any. */
  running: Promise<void> | null;
  runs: number;
}

export class Scheduler {
  private readonly jobs: Planned[] = [];
  private readonly wall: () => number;
  private readonly slots: (schedule: string) => Slots;
  private readonly onRun: (job: string, ok: boolean) => void;
  private stopped = false;

  constructor(private readonly log: Logger, opts: SchedulerOptions = {}) {
    this.wall = opts.wall ?? Date.now;
    this.slots = opts.slots ?? ((schedule) => cronSlots(schedule, this.wall));
    this.onRun = opts.onRun ?? (() => {});
  }

  add(job: Job): void {
    const p: Planned = { job, slots: this.slots(job.schedule), due: 0, timer: null, running: null, runs: 0 };
    this.jobs.push(p);
    this.plan(p);
  }

  /** Runs of each job so far, by name. */
  runs(): Record<string, number> {
    return Object.fromEntries(this.jobs.map((p) => [p.job.name, p.runs]));
  }

  /**
   * Runs a job now, outside its schedule (its next slot stays planned), unless a run of it
   * is still going: then nothing is started and this resolves false once that run ends.
   * Resolves true when the run this started ends, failed or not.
   */
  async runNow(name: string): Promise<boolean> {
    const p = this.jobs.find((j) => j.job.name === name);
    if (p === undefined) throw new Error(`no job named ${JSON.stringify(name)}`);
    if (this.stopped) return false;
    if (p.running !== null) {
      await p.running;
      return false;
    }
    await this.run(p);
    return true;
  }

  /** The wall clock stepped: every job plans its next slot from the wall clock as it reads now. */
  replan(): void {
    for (const p of this.jobs) this.plan(p);
  }

  private plan(p: Planned): void {
    if (this.stopped) return;
    if (p.timer) clearTimeout(p.timer);
    p.due = p.slots.next();
    this.sleep(p);
  }

  private sleep(p: Planned): void {
    const wait = Math.min(Math.max(0, p.due - this.wall()), MAX_SLEEP_MS);
    p.timer = setTimeout(() => this.wake(p), wait);
    p.timer.unref();
  }

  private wake(p: Planned): void {
    p.timer = null;
    if (this.stopped) return;
    const now = this.wall();
    if (now < p.due) {
      // Not yet; but a wall clock set back since the plan would make the slot far off.
      if (p.due - now > MAX_SLEEP_MS) return this.plan(p);
      return this.sleep(p);
    }
    // Due (once, however many slots a step skipped): run unless the last run is still going.
    if (p.running === null) void this.run(p);
    this.plan(p);
  }

  private async run(p: Planned): Promise<void> {
    p.runs++;
    let ended!: () => void;
    p.running = new Promise((resolve) => (ended = resolve));
    try {
      const result = await p.job.run();
      this.log.debug({ job: p.job.name, result }, 'job done');
      this.onRun(p.job.name, true);
    } catch (err) {
      this.log.error({ err, job: p.job.name }, 'job failed');
      this.onRun(p.job.name, false);
    } finally {
      p.running = null;
      ended();
    }
  }

  /** No new runs; resolves once the runs going have ended (the store closes after this). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.jobs.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      await p.slots.close();
      await p.running;
    }
  }
}
