// Epoch ms → "YYYY-MM-DDTHH:mm:ss.sssZ", as Date.prototype.toISOString prints it for years
// 0–9999, without a Date per call: every reading's timestamp goes through here.
const TWO: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

let lastMs = NaN;
let lastText = '';

export function isoTime(ms: number): string {
  if (ms === lastMs) return lastText;
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
