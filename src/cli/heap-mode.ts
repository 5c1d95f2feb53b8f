// How the V8 heap trades memory for speed in the daemon (EDGEBUS_HEAP).
//
// A Pi's gateway runs at a few thousand readings a second with RAM to spare for nothing
// else; the same gateway catching up after an outage, or a bench, runs flat out. So:
//   small  favours size at all times;
//   fast   leaves V8's defaults (and bin/edgebus.js's --max-semi-space-size) alone;
//   auto   (the default) is small while the event loop has slack, and in between while
//          ingest saturates it (judged on its utilisation and the readings committed every
//          quarter second, with hysteresis).
//
// The flags below are all read by V8 at each collection, so they can be switched at run
// time through v8.setFlagsFromString (on the node command line --optimize-for-size would
// also pin the young generation to 1 MB for good).
//   small: --optimize-for-size collects old space sooner (a reading's objects wait ~10 ms
//     for their group's fsync, survive a scavenge and are promoted), and
//     --semi-space-growth-factor=1 keeps the young generation from growing toward the bin
//     script's 2 × 32 MB. At 5,000 msgs/s the peak fell 125 → 105 MiB from the growth
//     factor alone. Saturated, it runs at ~0.6× V8's defaults.
//   saturated: the young generation may grow to YOUNG_CAP_BYTES (growth stopped there by
//     the same factor), and old space grows by 10 % a collection (--heap-growing-percent)
//     rather than up to 4× as V8 does for a fast allocator. In A/B runs of 5 s at
//     saturation (medians of 3): V8's defaults 48k msgs/s peaking at 195 MiB (2× bare
//     Aedes, against a budget of 1.5×), --optimize-for-size alone 29k at 142 MiB, this
//     37–41k at 131–133 MiB (small: 24–26k at 115 MiB in an earlier pair).
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

export type HeapMode = 'auto' | 'small' | 'fast';

export const HEAP_MODE_ENV = 'EDGEBUS_HEAP';

export function heapModeOf(env: NodeJS.ProcessEnv): HeapMode {
  const raw = env[HEAP_MODE_ENV];
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'small' || raw === 'fast') return raw;
  throw new Error(`${HEAP_MODE_ENV}: expected auto, small or fast, got ${JSON.stringify(raw)}`);
}

export type Setting = 'small' | 'saturated';

const FLAGS: Record<Setting, string> = {
  small: '--optimize-for-size --semi-space-growth-factor=1 --heap-growing-percent=0',
  saturated: '--no-optimize-for-size --heap-growing-percent=10',
};

/** The young generation's size (V8's new_space) past which `saturated` stops it growing. */
export const YOUNG_CAP_BYTES = 16 * 1024 * 1024;

export function setV8Heap(setting: Setting): void {
  v8.setFlagsFromString(FLAGS[setting]);
  if (setting === 'saturated') capYoungGeneration();
}

/** Lets the young generation grow (V8's default factor of 2) until it reaches YOUNG_CAP_BYTES. */
function capYoungGeneration(): void {
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  const full = young !== undefined && young.space_size >= YOUNG_CAP_BYTES;
  v8.setFlagsFromString(full ? '--semi-space-growth-factor=1' : '--semi-space-growth-factor=2');
}

// A shared 2-core machine at 5,000 msgs/s crossed 0.8 for a second now and then (the load
// generator's window stalled meanwhile), and the young generation it then grew stayed: the
// thresholds ask for 2 s of near-full use, and return after 2 s under 0.6.
//
// Only ingest earns the larger young generation: its readings wait for their group's fsync.
// A drain saturates the loop too, but its batches die young in any heap: in bench:drain
// (200k and 1M backlogs) `small` drained as fast as `saturated` (121k/165k against 112k/154k
// events/s) with RssAnon flat at 56–63 MiB instead of climbing 84 → 106. So saturation also
// asks for an ingest rate no drain or rules rebuild produces, and ends when it halves.
/** Event-loop utilisation (0–1) and committed readings per second at or above which `auto` switches to saturated, for this many samples running. */
export const SATURATED = { utilisation: 0.9, ingestPerSecond: 10_000, samples: 8 } as const;
/** Utilisation at or below which, or an ingest rate under which, it returns to small, for this many samples running. */
export const RELAXED = { utilisation: 0.6, ingestPerSecond: SATURATED.ingestPerSecond / 2, samples: 8 } as const;
const SAMPLE_MS = 250;

/**
 * The `auto` policy as a state machine over utilisation samples; `sample` returns the
 * setting to apply when it changes, null otherwise.
 */
export class HeapPolicy {
  private current: Setting = 'small';
  private run = 0;

  get setting(): Setting {
    return this.current;
  }

  /** `ingestPerSecond`: readings committed per second over the same sample. */
  sample(utilisation: number, ingestPerSecond: number): Setting | null {
    const toward: Setting | null =
      this.current === 'small'
        ? utilisation >= SATURATED.utilisation && ingestPerSecond >= SATURATED.ingestPerSecond ? 'saturated' : null
        : utilisation <= RELAXED.utilisation || ingestPerSecond < RELAXED.ingestPerSecond ? 'small' : null;
    if (toward === null) {
      this.run = 0;
      return null;
    }
    this.run++;
    if (this.run < (toward === 'saturated' ? SATURATED.samples : RELAXED.samples)) return null;
    this.current = toward;
    this.run = 0;
    return toward;
  }
}

/**
 * For bin/edgebus.js, before the CLI's modules load: the size flags of `auto` and `small`
 * (a mode it cannot read is left to `edgebus start` to refuse). Loading the modules with
 * V8's defaults grew the young generation to 16 MB, and it stayed that size until V8's
 * memory reducer ran ~8 s later — under the load that a restart meets, that was the peak.
 */
export function applyStartupHeap(env: NodeJS.ProcessEnv): void {
  let mode: HeapMode;
  try {
    mode = heapModeOf(env);
  } catch {
    return;
  }
  if (mode !== 'fast') setV8Heap('small');
}

export interface HeapControl {
  /** Counts readings committed, for `auto`'s ingest rate. */
  committed(events: number): void;
  stop(): void;
}

/**
 * Applies `mode` to this process's V8; for `auto`, samples the event loop every SAMPLE_MS
 * (an unref'd timer), switches as HeapPolicy says and, while saturated, holds the young
 * generation at its cap. `onSwitch` hears each switch.
 */
export function applyHeapMode(mode: HeapMode, onSwitch: (setting: Setting, utilisation: number) => void = () => {}): HeapControl {
  const fixed = { committed: () => {}, stop: () => {} };
  if (mode === 'fast') return fixed;
  setV8Heap('small');
  if (mode === 'small') return fixed;
  const policy = new HeapPolicy();
  let last = performance.eventLoopUtilization();
  let events = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const next = policy.sample(u, (events * 1000) / SAMPLE_MS);
    events = 0;
    if (next !== null) {
      setV8Heap(next);
      onSwitch(next, u);
    } else if (policy.setting === 'saturated') {
      capYoungGeneration();
    }
  }, SAMPLE_MS);
  timer.unref();
  return { committed: (n) => void (events += n), stop: () => clearInterval(timer) };
}
