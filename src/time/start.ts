// Where the gateway clock starts when the daemon does. Within one boot it carries on
// exactly (the boot clock's advance since the last record); across a reboot the time the
// gateway was off is only known when the wall clock was synchronised at both ends, and
// otherwise counts as nothing: durations then run long (data kept longer, ids remembered
// longer), never short. It never reads less than anything the store already holds.
import { RELEASED_AT } from '../version.js';
import type { ClockQuality } from './quality.js';

/** A point on the gateway clock the store recorded: a segment's start, or the daemon's stop. */
export interface ClockMark {
  boot: string | null;
  /** The boot clock (ms since boot) at that point. */
  uptime: number | null;
  /** The gateway clock at that point. */
  g: number;
  /** The wall clock at that point. */
  wall: number;
  quality: ClockQuality;
}

export interface StartInput {
  /** The latest mark the store has; null for a new store (or one from before clocks were kept). */
  last: ClockMark | null;
  /** The highest gateway-clock value the store holds (receive marks, ids); 0 when none. */
  highest: number;
  boot: string | null;
  uptime: number | null;
  wall: number;
  /** The OS says the wall clock is synchronised now. */
  synced: boolean;
}

export type Continuity = 'new-store' | 'same-boot' | 'measured-downtime' | 'unknown-downtime';

export function startingPoint(i: StartInput): { g: number; continuity: Continuity } {
  const floor = i.highest + 1;
  const last = i.last;
  if (last === null) {
    // A store's first clock: the wall clock if it is plausible, else the release date.
    return { g: Math.max(i.wall, RELEASED_AT, floor), continuity: 'new-store' };
  }
  if (last.boot !== null && last.boot === i.boot && last.uptime !== null && i.uptime !== null && i.uptime >= last.uptime) {
    return { g: Math.max(last.g + (i.uptime - last.uptime), floor), continuity: 'same-boot' };
  }
  if (last.quality === 'synced' && i.synced && i.wall >= last.wall) {
    return { g: Math.max(last.g + (i.wall - last.wall), floor), continuity: 'measured-downtime' };
  }
  return { g: Math.max(last.g, floor), continuity: 'unknown-downtime' };
}
