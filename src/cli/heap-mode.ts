// How the V8 heap trades memory for speed in the daemon (EDGEBUS_HEAP).
//
// A Pi's gateway runs at a few thousand readings a second with RAM to spare for nothing
// else; the same gateway catching up after an outage, or a bench, runs flat out. So:
//   small  favours size at all times;
//   fast   leaves V8's defaults (and bin/edgebus.js's --max-semi-space-size) alone;
//   auto   (the default) is small while the event loop has slack; while it is saturated
//          (judged on its utilisation second by second, with hysteresis) it lets the young
//          generation grow again but still collects old space early.
//
// Size means two V8 flags, both read by V8 at each collection and so switchable at run time
// through v8.setFlagsFromString (on the node command line --optimize-for-size would also pin
// the young generation to 1 MB for good, which costs a saturated gateway ~30 %):
// --optimize-for-size collects old space sooner (a reading's objects wait ~10 ms for their
// group's fsync, survive a scavenge and are promoted), and --semi-space-growth-factor=1 keeps
// the young generation from growing towards bin/edgebus.js's 2 × 32 MB. Measured at 5,000
// msgs/s (README, Memory): peak RSS 125 → 105 MiB from the growth factor alone. Saturated,
// the small young generation costs ~25 % of throughput; V8's defaults would win ~50 % more
// but peak at 1.9–2.6× bare Aedes against a budget of 1.5× (issue 14 puts memory first), so
// `auto` stops at the growth factor: ~1.4× in the same runs.
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
  small: '--optimize-for-size --semi-space-growth-factor=1',
  // V8's default growth factor.
  saturated: '--optimize-for-size --semi-space-growth-factor=2',
};

export function setV8Heap(setting: Setting): void {
  v8.setFlagsFromString(FLAGS[setting]);
}

/** Event-loop utilisation (0–1) at or above which `auto` switches to saturated, for this many samples running. */
export const SATURATED = { utilisation: 0.8, samples: 2 } as const;
/** At or below which it returns to small, for this many samples running. */
export const RELAXED = { utilisation: 0.5, samples: 5 } as const;
const SAMPLE_MS = 1000;

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

  sample(utilisation: number): Setting | null {
    const toward: Setting | null =
      this.current === 'small' ? (utilisation >= SATURATED.utilisation ? 'saturated' : null) : utilisation <= RELAXED.utilisation ? 'small' : null;
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
  stop(): void;
}

/**
 * Applies `mode` to this process's V8; for `auto`, samples the event loop every second (an
 * unref'd timer) and switches as HeapPolicy says. `onSwitch` hears each switch.
 */
export function applyHeapMode(mode: HeapMode, onSwitch: (setting: Setting, utilisation: number) => void = () => {}): HeapControl {
  if (mode === 'fast') return { stop: () => {} };
  setV8Heap('small');
  if (mode === 'small') return { stop: () => {} };
  const policy = new HeapPolicy();
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const next = policy.sample(u);
    if (next !== null) {
      setV8Heap(next);
      onSwitch(next, u);
    }
  }, SAMPLE_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
