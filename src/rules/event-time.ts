// Event time: the event's `timestamp` in ms. Windows, `for`, sequences and cooldowns run on
// it, and it is read for every reading each rule sees, so the gateway's own canonical form
// is read by arithmetic.
import type { EdgeEvent } from '../events/types.js';

/** The gateway's own timestamps: `2026-11-26T01:02:03.456Z`, read without Date.parse. */
function canonicalIsoMs(t: string): number {
  if (t.length !== 24 || t.charCodeAt(23) !== 90 /* Z */ || t.charCodeAt(10) !== 84 /* T */) return Number.NaN;
  const d = (i: number) => t.charCodeAt(i) - 48;
  const year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const month = d(5) * 10 + d(6);
  const day = d(8) * 10 + d(9);
  const ms = ((d(11) * 10 + d(12)) * 3600 + (d(14) * 10 + d(15)) * 60 + d(17) * 10 + d(18)) * 1000 + d(20) * 100 + d(21) * 10 + d(22);
  return Date.UTC(year, month - 1, day) + ms;
}

export function eventTime(e: EdgeEvent): number {
  const fast = canonicalIsoMs(e.timestamp);
  if (fast === fast) return fast;
  const t = Date.parse(e.timestamp);
  return Number.isFinite(t) ? t : 0;
}
