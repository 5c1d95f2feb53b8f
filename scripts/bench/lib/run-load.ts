// The measuring side of the load generator: forks it, relays its phase changes, and
// returns its figures.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stop, track } from './children.js';
import type { LoadMessage, LoadResult, LoadSpec } from './load-protocol.js';

const LOADGEN = join(dirname(fileURLToPath(import.meta.url)), 'loadgen.js');

export interface LoadHooks {
  /** The measured window starts: a moment to take "before" readings of the target. */
  onMeasuring?: () => void;
  /** The measured window ends (the drain follows): the "after" readings. */
  onMeasured?: () => void;
}

export async function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  const t = track(fork(LOADGEN, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  // Warm-up, measurement, the 5 s drain and connecting: anything beyond means it is stuck.
  const limitMs = (spec.warmupSeconds + spec.seconds + 20) * 1000;
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load generator still running after ${limitMs} ms`)), limitMs);
      t.child.on('message', (raw) => {
        const msg = raw as LoadMessage;
        if (msg.type === 'measuring') hooks.onMeasuring?.();
        else if (msg.type === 'measured') hooks.onMeasured?.();
        else if (msg.type === 'result') { clearTimeout(timer); resolve(msg.result); }
        else if (msg.type === 'error') { clearTimeout(timer); reject(new Error(`load generator: ${msg.message}`)); }
      });
      void t.exited.then((e) => { clearTimeout(timer); reject(new Error(`load generator exited (code ${e.code}, signal ${e.signal}) without a result`)); });
    });
  } finally {
    await stop(t);
  }
}
