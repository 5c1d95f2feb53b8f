// Request/response devices (SPEC §6 `poll`): asked every `every`, each question must be
// answered within `timeout`. A device that stops answering while its port stays open (a
// meter that lost power behind a USB–RS-485 adapter) is reported after a few misses.
import type { PollSpec } from './types.js';

/** Misses in a row before the device is reported offline. */
export const SILENT_AFTER = 3;

export interface PollerHooks {
  /** Send the question. */
  ask: () => void | Promise<void>;
  /** `misses` questions in a row went unanswered. */
  silent: (misses: number) => void;
  /** One went unanswered (counted by the caller). */
  missed?: () => void;
}

export class Poller {
  private readonly interval: NodeJS.Timeout;
  private deadline: NodeJS.Timeout | null = null;
  private waiting = false;
  private misses = 0;
  timeouts = 0;

  constructor(private readonly spec: PollSpec, private readonly hooks: PollerHooks) {
    this.interval = setInterval(() => this.tick(), spec.everyMs);
    this.interval.unref();
    this.tick();
  }

  private tick(): void {
    if (this.waiting) return; // the last question is still open: never two at once
    this.waiting = true;
    this.deadline = setTimeout(() => this.miss(), this.spec.timeoutMs);
    this.deadline.unref();
    void this.hooks.ask();
  }

  private miss(): void {
    this.deadline = null;
    if (!this.waiting) return;
    this.waiting = false;
    this.timeouts++;
    this.misses++;
    this.hooks.missed?.();
    if (this.misses === SILENT_AFTER) this.hooks.silent(this.misses);
  }

  /** An answer came. */
  answered(): void {
    this.waiting = false;
    this.misses = 0;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  stop(): void {
    clearInterval(this.interval);
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }
}
