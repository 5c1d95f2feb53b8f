// Latency percentiles for `status` and the dashboard in a fixed amount of memory: a
// histogram of log-spaced buckets (each 20% wider than the one below, 10 µs to ~5 min), so an
// estimate is off by at most a bucket's width, interpolated within it and kept inside the
// smallest and largest value seen. Recording is O(1) and allocates nothing; a window of the
// last minute is six 10-second histograms in a ring, merged only when read.

/** The upper bound of the first bucket, seconds. */
const LOWEST = 1e-5;
const GROWTH = 1.2;
/** Buckets with a bound; one more takes what lies above the last (332 s). */
const BOUNDED = 96;
const LOG_GROWTH = Math.log(GROWTH);
const BOUNDS = Float64Array.from({ length: BOUNDED }, (_, i) => LOWEST * GROWTH ** i);

/** p50 and p99 in milliseconds (null with no observation) and how many there were. */
export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BOUNDED + 1);
  private total = 0;
  private min = Infinity;
  private max = -Infinity;

  get count(): number {
    return this.total;
  }

  /** `seconds` observed `n` times (a commit group's wait, once per publish it held). */
  observe(seconds: number, n = 1): void {
    if (!(seconds >= 0) || !(n > 0)) return;
    this.counts[bucketOf(seconds)] += n;
    this.total += n;
    if (seconds < this.min) this.min = seconds;
    if (seconds > this.max) this.max = seconds;
  }

  /** The value below which a share `q` (0–1) of the observations lie, seconds; null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.min(Math.max(q, 0), 1) * this.total;
    let below = 0;
    for (let i = 0; i <= BOUNDED; i++) {
      const c = this.counts[i];
      if (c === 0 || below + c < rank) {
        below += c;
        continue;
      }
      // Nothing lies outside what was seen: the first and last buckets narrow to it.
      const lower = Math.max(i === 0 ? 0 : BOUNDS[i - 1], this.min);
      const upper = Math.min(i === BOUNDED ? Infinity : BOUNDS[i], this.max);
      return lower + ((upper - lower) * (rank - below)) / c;
    }
    return this.max;
  }

  summary(): LatencySummary {
    return { count: this.total, p50Ms: ms(this.quantile(0.5)), p99Ms: ms(this.quantile(0.99)) };
  }

  clear(): void {
    this.counts.fill(0);
    this.total = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /** Adds another histogram's observations to this one. */
  add(other: LatencyHistogram): void {
    if (other.total === 0) return;
    for (let i = 0; i <= BOUNDED; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }
}

function bucketOf(seconds: number): number {
  if (seconds <= LOWEST) return 0;
  let i = Math.ceil(Math.log(seconds / LOWEST) / LOG_GROWTH);
  // The logarithm can land a hair past a bound: the value belongs to the bucket it does not exceed.
  if (i > 0 && i <= BOUNDED && seconds <= BOUNDS[i - 1]) i--;
  return Math.min(i, BOUNDED);
}

function ms(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds * 1e6) / 1e3;
}

const SLOT_MS = 10_000;
const SLOTS = 6;

/** Latencies over the last minute (six 10-second slots) and since the start. */
export class RecentLatency {
  readonly sinceStart = new LatencyHistogram();
  private readonly slots = Array.from({ length: SLOTS }, () => new LatencyHistogram());
  /** The 10-second period (since the epoch of `now`) each slot holds; a stale one is not read. */
  private readonly periods = new Float64Array(SLOTS).fill(-1);
  private readonly merged = new LatencyHistogram();

  /** `now`: the gateway clock, ms. */
  constructor(private readonly now: () => number) {}

  observe(seconds: number, n = 1): void {
    const period = Math.floor(this.now() / SLOT_MS);
    const i = period % SLOTS;
    if (this.periods[i] !== period) {
      this.periods[i] = period;
      this.slots[i].clear();
    }
    this.slots[i].observe(seconds, n);
    this.sinceStart.observe(seconds, n);
  }

  /** The slots of the last minute, the current one included, as one histogram. */
  lastMinute(): LatencyHistogram {
    const period = Math.floor(this.now() / SLOT_MS);
    this.merged.clear();
    for (let i = 0; i < SLOTS; i++) if (this.periods[i] > period - SLOTS) this.merged.add(this.slots[i]);
    return this.merged;
  }

  summary(): { lastMinute: LatencySummary; sinceStart: LatencySummary } {
    return { lastMinute: this.lastMinute().summary(), sinceStart: this.sinceStart.summary() };
  }
}
