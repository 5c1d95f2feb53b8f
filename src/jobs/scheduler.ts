// Built-in jobs on node-cron schedules (SPEC §2 `schedules`). A job never overlaps itself,
// and a failing run is logged, never fatal.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../util/log.js';

export interface Job {
  name: string;
  schedule: string;
  run: () => Promise<unknown>;
}

export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];

  constructor(private readonly log: Logger) {}

  add(job: Job): void {
    const task = cron.schedule(job.schedule, async () => {
      try {
        const result = await job.run();
        this.log.debug({ job: job.name, result }, 'job done');
      } catch (err) {
        this.log.error({ err, job: job.name }, 'job failed');
      }
    }, { name: job.name, noOverlap: true });
    this.tasks.push(task);
  }

  async stop(): Promise<void> {
    for (const t of this.tasks.splice(0)) await t.destroy();
  }
}
