// Event time of a stored event read from its timestamp alone: what rules use when no clock
// timeline is at hand (unit tests, a store written before clocks were recorded). The daemon
// gives the engine the timeline's event time instead (see time/timeline.ts).
import type { EdgeEvent } from '../events/types.js';
import { parseIsoTime } from '../events/iso-time.js';

export function eventTime(e: EdgeEvent): number {
  const t = parseIsoTime(e.timestamp);
  return Number.isFinite(t) ? t : 0;
}
