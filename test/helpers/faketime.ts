// A wall clock the test steps while a child daemon runs: Debian's libfaketime, preloaded
// into the child, reads the time from a file the test rewrites (FAKETIME_NO_CACHE: on every
// call). DONT_FAKE_MONOTONIC leaves CLOCK_MONOTONIC alone, as on a Pi whose clock NTP
// steps: timers and performance.now() run on, only Date jumps.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LIBRARIES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/arm-linux-gnueabihf/faketime/libfaketime.so.1',
];

export interface FakeClock {
  /** Environment for the child: LD_PRELOAD and the timestamp file. */
  env: NodeJS.ProcessEnv;
  /** The wall clock runs this many ms ahead of the real one (negative: behind), from now on. */
  offset(ms: number): void;
  /** The wall clock reads `iso` now and runs on from there. */
  at(iso: string): void;
  /** Back to the real time. */
  real(): void;
}

export function fakeTimeLibrary(): string {
  const lib = LIBRARIES.find((p) => existsSync(p));
  if (!lib) throw new Error('libfaketime is not installed: .ci/run installs the faketime package (apt-get install faketime)');
  return lib;
}

/** A fake clock whose file lives in `dir`; it starts at `start` (ISO) or at the real time. */
export function fakeClock(dir: string, start?: string): FakeClock {
  const file = join(dir, 'faketime.rc');
  const write = (spec: string) => writeFileSync(file, spec + '\n');
  const clock: FakeClock = {
    env: {
      LD_PRELOAD: fakeTimeLibrary(),
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: '1',
      DONT_FAKE_MONOTONIC: '1',
      // "@" times are read in the local zone: make that UTC, as on a Pi.
      TZ: 'UTC',
    },
    offset(ms) {
      // libfaketime's relative form: "+N" / "-N" seconds (fractions allowed).
      write(`${ms >= 0 ? '+' : '-'}${(Math.abs(ms) / 1000).toFixed(3)}`);
    },
    at(iso) {
      // "@" starts the clock at that time and lets it run.
      const d = new Date(iso);
      const pad = (n: number) => String(n).padStart(2, '0');
      write(`@${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`);
    },
    real() {
      write('+0');
    },
  };
  if (start !== undefined) clock.at(start);
  else clock.real();
  return clock;
}
