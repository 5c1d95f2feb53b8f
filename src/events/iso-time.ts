// Epoch ms → "YYYY-MM-DDTHH:mm:ss.sssZ", as Date.prototype.toISOString prints it for years
// 0–9999, without a Date per call: every reading's timestamp goes through here. And back:
// the gateway's own timestamps are read by arithmetic, as every rule and read does.
const TWO: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

// Two remembered conversions: a reading is converted on the gateway's monotonic clock at
// receipt and on the wall clock at append, and both repeat within a millisecond under load.
let lastMs = NaN;
let lastText = '';
let prevMs = NaN;
let prevText = '';

export function isoTime(ms: number): string {
  if (ms === lastMs) return lastText;
  if (ms === prevMs) return prevText;
  prevMs = lastMs;
  prevText = lastText;
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const s = Math.floor(rest / 1000);
  const milli = rest - s * 1000;
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  lastMs = ms;
  lastText = `${TWO[Math.floor(y / 100)]}${TWO[y % 100]}-${TWO[m]}-${TWO[d]}T${TWO[h]}:${TWO[mi]}:${TWO[s]}.${THREE[milli]}Z`;
  return lastText;
}

/** `2026-11-26T01:02:03.456Z` (the form isoTime writes) → epoch ms by arithmetic; NaN otherwise. */
function canonicalIsoMs(t: string): number {
  if (t.length !== 24 || t.charCodeAt(23) !== 90 /* Z */ || t.charCodeAt(10) !== 84 /* T */) return Number.NaN;
  const d = (i: number) => t.charCodeAt(i) - 48;
  const year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const month = d(5) * 10 + d(6);
  const day = d(8) * 10 + d(9);
  const ms = ((d(11) * 10 + d(12)) * 3600 + (d(14) * 10 + d(15)) * 60 + d(17) * 10 + d(18)) * 1000 + d(20) * 100 + d(21) * 10 + d(22);
  return Date.UTC(year, month - 1, day) + ms;
}

/** An event's ISO time in epoch ms: the canonical form without Date.parse; NaN when unreadable. */
export function parseIsoTime(t: string): number {
  const fast = canonicalIsoMs(t);
  return fast === fast ? fast : Date.parse(t);
}
