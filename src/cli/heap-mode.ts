// How the V8 heap trades memory for speed in the daemon. A Pi's gateway runs at a few
// thousand readings a second with RAM to spare for nothing else, so by default V8 is told to
// favour size (`--optimize-for-size`: it collects garbage sooner and keeps its young
// generation small); the promoted garbage of a reading that waits ~10 ms for its group's
// fsync otherwise piles up in old space until the next full collection (README, Memory).
//
// Set at run time, through v8.setFlagsFromString: bin/edgebus.js's first line owns the node
// command line, NODE_OPTIONS refuses this flag, and V8 reads it at each collection — unlike
// --max-semi-space-size, which it reads once, at start-up, and ignores when set later.
import v8 from 'node:v8';

export type HeapMode = 'small' | 'fast';

export const HEAP_MODE_ENV = 'EDGEBUS_HEAP';

export function heapModeOf(env: NodeJS.ProcessEnv): HeapMode {
  const raw = env[HEAP_MODE_ENV];
  if (raw === undefined || raw === '' || raw === 'small') return 'small';
  if (raw === 'fast') return 'fast';
  throw new Error(`${HEAP_MODE_ENV}: expected small or fast, got ${JSON.stringify(raw)}`);
}

/** Applies `mode` to this process's V8; `fast` leaves V8's defaults (and bin/edgebus.js's flags) alone. */
export function applyHeapMode(mode: HeapMode): void {
  if (mode === 'small') {
    v8.setFlagsFromString('--optimize-for-size');
  }
}
