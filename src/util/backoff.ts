// Exponential backoff, the one every retry loop uses: the upstream link's reconnects and
// refused batches (`upstream.retry`), a serial port looked for again, the store reopened
// after a failed write, the CLI waiting for the store's lock. Durations in ms.

export interface BackoffPolicy {
  initialDelay: number;
  maxDelay: number;
  multiplier: number;
  jitter: boolean;
}

/**
 * The n-th wait (n counted from 0 since the last reset) has a ceiling of
 * `min(maxDelay, initialDelay * multiplier^n)`.
 *
 * Without jitter the wait is the ceiling. With jitter it is drawn uniformly from
 * `[initialDelay / 2, ceiling]`: "full jitter" spreads a fleet of gateways that lost
 * the same broker at the same moment, but a pure full jitter (from 0) would sometimes
 * retry at once, hammering a broker that is restarting; half the first delay is the
 * floor. (If maxDelay is configured below initialDelay/2 the floor drops to it, so the
 * cap always holds.) Waits are whole milliseconds.
 */
export class Backoff {
  private n = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next wait in ms; each call counts one attempt. */
  next(): number {
    const { initialDelay, maxDelay, multiplier, jitter } = this.policy;
    // Math.pow overflows to Infinity after many attempts, which the cap absorbs.
    const ceiling = Math.max(0, Math.min(maxDelay, initialDelay * Math.pow(multiplier, this.n)));
    this.n++;
    if (!jitter) return Math.round(ceiling);
    const floor = Math.min(initialDelay / 2, ceiling);
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(floor + r * (ceiling - floor));
  }

  /** Back to the first delay, e.g. after a connection was established. */
  reset(): void {
    this.n = 0;
  }

  /** How many waits next() has handed out since the last reset. */
  get attempts(): number {
    return this.n;
  }
}
