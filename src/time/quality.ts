// How far the wall clock can be trusted, recorded on every event (`metadata.clock`).
import type { ClockQuality } from '../events/types.js';
import { RELEASED_AT } from '../version.js';

export type { ClockQuality };

/**
 * synced: the OS says the clock is synchronised, or cannot say and the time is plausible;
 * unsynced: the OS says it is not, or the time is before this release was made (a Pi
 * without an RTC boots at 1970 or at its last shutdown); stepped: it jumped while the daemon
 * ran and the OS has not (yet) said it is synchronised.
 */
export function clockQuality(wall: number, synced: boolean | null, steppedThisRun: boolean): ClockQuality {
  if (wall < RELEASED_AT) return 'unsynced';
  if (synced === true) return 'synced';
  if (steppedThisRun) return 'stepped';
  return synced === false ? 'unsynced' : 'synced';
}
