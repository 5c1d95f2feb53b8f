// Watches the wall clock against the gateway clock once a second, and asks the OS whether
// it is synchronised: a step or a change of quality is handed on (the appender begins a
// clock segment and records the step; the scheduler re-plans its jobs).
import type { ClockChange, GatewayClock } from './clock.js';
import type { SyncSource } from './sync.js';

const CHECK_EVERY_MS = 1_000;

export interface ClockWatchOptions {
  clock: GatewayClock;
  sync: SyncSource;
  onChange: (change: ClockChange) => void;
  intervalMs?: number;
}

export class ClockWatch {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private stopped = false;

  constructor(private readonly opts: ClockWatchOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs ?? CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** One check now (the timer's; tests and start-up may call it too). */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const synced = await this.opts.sync.refresh();
      if (this.stopped) return;
      const change = this.opts.clock.check(synced);
      if (change !== null) this.opts.onChange(change);
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
