// The gateway's two clocks. The wall clock (Date.now) is for display and for what
// publishers send; it jumps when NTP finds a server or someone sets it. The gateway clock
// (`now()`) is monotonic: it runs at the rate of CLOCK_MONOTONIC, never goes back, and
// carries on across restarts from where the store left it (see start.ts). Every duration
// — retention, TTL, dedup, reorder, rule windows, cooldowns, rate limits — is measured on
// it. It is anchored so that it reads like the wall clock on a gateway whose clock never
// stepped; `offset` (wall − gateway clock) is what a step changes.
import { performance } from 'node:perf_hooks';
import { clockQuality, type ClockQuality } from './quality.js';

/** A wall clock that moves this much against the monotonic one has been stepped. */
export const STEP_THRESHOLD_MS = 1_000;

export interface ClockReadings {
  wall(): number;
  /** A monotonic millisecond counter (performance.now). */
  mono(): number;
}

const REAL: ClockReadings = { wall: () => Date.now(), mono: () => performance.now() };

/** A step of the wall clock, or a change in how far it can be trusted. */
export interface ClockChange {
  kind: 'step' | 'quality';
  /** The gateway clock when it was seen. */
  at: number;
  /** What the wall clock read just before and after (equal for a quality change). */
  from: number;
  to: number;
  /** to − from, ms */
  delta: number;
  quality: ClockQuality;
  previous: ClockQuality;
}

export interface ClockStart {
  /** The gateway clock's reading now. */
  g: number;
  /** The wall clock's reading now. */
  wall: number;
  quality: ClockQuality;
  /** This boot's id and the boot clock now (see boot.ts); null where unknown. */
  boot?: string | null;
  uptime?: number | null;
}

export class GatewayClock {
  private readonly base: number;
  private off: number;
  private q: ClockQuality;
  private stepped = false;
  readonly boot: string | null;
  private readonly startG: number;
  private readonly startUptime: number | null;

  constructor(start: ClockStart, private readonly readings: ClockReadings = REAL) {
    this.base = start.g - readings.mono();
    this.off = start.wall - start.g;
    this.q = start.quality;
    this.boot = start.boot ?? null;
    this.startG = start.g;
    this.startUptime = start.uptime ?? null;
  }

  /** A clock on the wall clock alone (offset 0, never stepped): for tests and tools. */
  static fixed(now: () => number = Date.now, quality: ClockQuality = 'synced'): GatewayClock {
    const t = now();
    return new GatewayClock({ g: t, wall: t, quality }, { wall: now, mono: now });
  }

  /** The boot clock at gateway-clock reading `g` of this run; null where unknown. */
  uptimeAt(g: number): number | null {
    return this.startUptime === null ? null : this.startUptime + (g - this.startG);
  }

  /** The gateway clock, whole ms: monotonic, across restarts too. */
  now(): number {
    return Math.floor(this.base + this.readings.mono());
  }

  /** The wall clock, ms: for display and for stamping. */
  wall(): number {
    return this.readings.wall();
  }

  /** wall − gateway clock since the last step. */
  get offset(): number {
    return this.off;
  }

  get quality(): ClockQuality {
    return this.q;
  }

  /**
   * Compares the wall clock with the monotonic one: a difference past STEP_THRESHOLD_MS is a
   * step, which moves `offset`. `synced` is what the OS says (null: it cannot say).
   */
  check(synced: boolean | null): ClockChange | null {
    const g = this.now();
    const wall = this.readings.wall();
    const expected = g + this.off;
    const previous = this.q;
    if (Math.abs(wall - expected) >= STEP_THRESHOLD_MS) {
      this.stepped = true;
      this.off = wall - g;
      this.q = clockQuality(wall, synced, true);
      return { kind: 'step', at: g, from: expected, to: wall, delta: wall - expected, quality: this.q, previous };
    }
    const q = clockQuality(wall, synced, this.stepped);
    if (q === previous) return null;
    this.q = q;
    return { kind: 'quality', at: g, from: wall, to: wall, delta: 0, quality: q, previous };
  }
}
