// Reading the log again after a failed read. A read fails while the store is closed for a
// reopen (after a failed write); appends wake a sender, but a site that has gone quiet
// appends nothing, and what is stored would wait for the next event. So a sender whose
// read failed looks again by itself: soon, then every few seconds while the store stays
// closed, back to soon after the first read that works.
import { Backoff, type BackoffPolicy } from '../util/backoff.js';

const READ_RETRY: BackoffPolicy = { initialDelay: 100, maxDelay: 5_000, multiplier: 2, jitter: false };

export class ReadRetry {
  private readonly backoff = new Backoff(READ_RETRY);
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly readAgain: () => void) {}

  /** A read worked: the next failure retries soon again. */
  succeeded(): void {
    this.backoff.reset();
  }

  /** A read failed: read again after the next wait, unless one is already due. */
  failed(): void {
    if (this.stopped || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.readAgain();
    }, this.backoff.next());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
