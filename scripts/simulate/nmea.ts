// NMEA 0183 sentences of a receiver with a fix that wanders slowly around a point:
// GGA (position, fix quality, satellites, altitude) and RMC (position, speed, course, date).

export interface Point {
  lat: number;
  lon: number;
}

/** Marienplatz, Munich: the point of the NMEA reference examples. */
export const DEFAULT_POINT: Point = { lat: 48.1374, lon: 11.5755 };

/** A circle of about 25 m, once round in 120 ticks. */
const RADIUS_DEG = 0.000225;
const PERIOD_TICKS = 120;
const METRES_PER_DEG = 111_320;

/** XOR of the characters between `$` and `*`, as two upper-case hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

/** `$body*CS` */
export function sentence(body: string): string {
  return `$${body}*${nmeaChecksum(body)}`;
}

/** ddmm.mmmm / dddmm.mmmm and the hemisphere letter. */
function angle(deg: number, degDigits: number, pos: string, neg: string): [string, string] {
  const a = Math.abs(deg);
  let d = Math.floor(a);
  let m = Math.round((a - d) * 60 * 10_000) / 10_000;
  if (m >= 60) {
    d += 1;
    m = 0;
  }
  return [`${String(d).padStart(degDigits, '0')}${m.toFixed(4).padStart(7, '0')}`, deg < 0 ? neg : pos];
}

const two = (n: number): string => String(n).padStart(2, '0');

/** Where the receiver is at `tick`. */
export function positionAt(center: Point, tick: number): Point {
  const a = (2 * Math.PI * tick) / PERIOD_TICKS;
  return {
    lat: center.lat + RADIUS_DEG * Math.sin(a),
    lon: center.lon + (RADIUS_DEG * Math.cos(a)) / Math.cos((center.lat * Math.PI) / 180),
  };
}

/** GGA then RMC for `tick`, stamped `now` (UTC), without line endings. */
export function fixSentences(center: Point, tick: number, now: Date, tickMs: number): [string, string] {
  const p = positionAt(center, tick);
  const time = `${two(now.getUTCHours())}${two(now.getUTCMinutes())}${two(now.getUTCSeconds())}.${String(Math.floor(now.getUTCMilliseconds() / 10)).padStart(2, '0')}`;
  const date = `${two(now.getUTCDate())}${two(now.getUTCMonth() + 1)}${two(now.getUTCFullYear() % 100)}`;
  const [lat, ns] = angle(p.lat, 2, 'N', 'S');
  const [lon, ew] = angle(p.lon, 3, 'E', 'W');
  // Moving round the circle: constant speed, course turning with the angle.
  const metresPerTick = (2 * Math.PI * RADIUS_DEG * METRES_PER_DEG) / PERIOD_TICKS;
  const knots = (metresPerTick / (Math.max(tickMs, 1) / 1000)) * 1.943_844;
  const course = ((360 - (360 * tick) / PERIOD_TICKS) % 360 + 360) % 360;
  const sats = 7 + (tick % 4);
  const altitude = (519.5 + Math.sin(tick / 10)).toFixed(1);
  const gga = sentence(`GPGGA,${time},${lat},${ns},${lon},${ew},1,${two(sats)},0.9,${altitude},M,47.0,M,,`);
  const rmc = sentence(`GPRMC,${time},A,${lat},${ns},${lon},${ew},${knots.toFixed(2)},${course.toFixed(1)},${date},,,A`);
  return [gga, rmc];
}
