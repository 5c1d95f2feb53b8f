// A count over the last minute and since the start: a ring of per-second counts, so adding
// is O(1) and allocates nothing however busy the gateway is. Read by `status` and the
// dashboard (the ingest rate, events by type, errors).

export class MinuteCounter {
  private readonly counts: Float64Array;
  /** The whole second (of `now`) each slot counts; a stale slot reads as zero. */
  private readonly seconds: Float64Array;
  private sum = 0;

  /** `now`: the gateway clock, ms (a wall clock stepped back would hide the minute until it caught up). */
  constructor(private readonly now: () => number, readonly windowSeconds = 60) {
    this.counts = new Float64Array(windowSeconds);
    this.seconds = new Float64Array(windowSeconds).fill(-1);
  }

  /** Everything added since this was made. */
  get total(): number {
    return this.sum;
  }

  add(n = 1): void {
    if (n <= 0) return;
    this.sum += n;
    const sec = Math.floor(this.now() / 1000);
    const i = sec % this.windowSeconds;
    if (this.seconds[i] !== sec) {
      this.seconds[i] = sec;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** What was added in the window's seconds, the current one included. */
  inWindow(): number {
    const now = Math.floor(this.now() / 1000);
    let total = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.seconds[i] > now - this.windowSeconds) total += this.counts[i];
    }
    return total;
  }
}
