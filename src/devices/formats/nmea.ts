// nmea: GGA and RMC sentences from any talker (GP, GN, GL, GA, …); every other sentence
// (GSV, GSA, VTG, proprietary) is ignored, as are GGA without a fix and RMC with status V.
// A checksum, when present, must be right; `requireChecksum` also refuses sentences without.
//   GGA → location {lat, lon, alt}; fixQuality, satellites, hdop, altitude (m).
//   RMC → location {lat, lon}; speed (kn), course (deg); timestamp from its date and time (UTC).
// Listing fields keeps only those readings, with the units given. A value the receiver left
// empty (course when standing still, say) is not read: empty means unknown in NMEA.
import type { Location } from '../../events/types.js';
import { FrameError, type DecodedFrame, type DecodedReading, type FieldSpec, type FormatOptions, type FrameDecoder } from '../types.js';
import { frameText, makeReading, parseNumber, quote } from './common.js';

const DEFAULT_UNITS: Readonly<Record<string, string | null>> = {
  fixQuality: null, satellites: null, hdop: null, altitude: 'm', speed: 'kn', course: 'deg',
};
export const NMEA_READINGS: readonly string[] = Object.keys(DEFAULT_UNITS);

interface Sentence {
  parts: string[];
  readings: DecodedReading[];
  wanted: ReadonlyMap<string, FieldSpec> | null;
}

export function createNmeaDecoder(fields: readonly FieldSpec[], options: FormatOptions): FrameDecoder {
  for (const f of fields) {
    if (!NMEA_READINGS.includes(f.name)) {
      throw new Error(`nmea: no sentence gives "${f.name}" (expected one of: ${NMEA_READINGS.join(', ')})`);
    }
  }
  const wanted = fields.length > 0 ? new Map(fields.map((f) => [f.name, f])) : null;
  return (frame) => {
    const parts = checkedBody(frameText(frame, 'nmea').trim(), options.requireChecksum).split(',');
    const address = parts[0];
    // Standard sentences are talker (2 letters) + type (3); proprietary ones start with P.
    const type = address.length === 5 && address[0] !== 'P' ? address.slice(2) : '';
    const s: Sentence = { parts, readings: [], wanted };
    if (type === 'GGA') return gga(s);
    if (type === 'RMC') return rmc(s);
    return { readings: [] };
  };
}

/** What lies between `$` and `*`, the checksum (XOR of those characters) verified. */
function checkedBody(text: string, requireChecksum: boolean): string {
  if (text[0] !== '$') throw new FrameError(`nmea: a sentence starts with $, got ${quote(text.slice(0, 8))}`);
  const star = text.indexOf('*');
  if (star < 0) {
    if (requireChecksum) throw new FrameError('nmea: checksum missing');
    return text.slice(1);
  }
  const given = text.slice(star + 1);
  if (!/^[0-9A-Fa-f]{2}$/.test(given)) throw new FrameError(`nmea: malformed checksum ${quote(given)}`);
  let sum = 0;
  for (let i = 1; i < star; i++) sum ^= text.charCodeAt(i);
  const computed = sum.toString(16).toUpperCase().padStart(2, '0');
  if (given.toUpperCase() !== computed) throw new FrameError(`nmea: checksum ${given.toUpperCase()} does not match ${computed}`);
  return text.slice(1, star);
}

// $GPGGA,time,lat,N,lon,E,fixQuality,satellites,hdop,altitude,M,geoidSep,M,age,station
function gga(s: Sentence): DecodedFrame {
  const p = needParts(s.parts, 10, 'GGA');
  if (p[6] === '' || p[6] === '0') return { readings: [] };
  const location: Location = { lat: latitude(p[2], p[3]), lon: longitude(p[4], p[5]), alt: number(p[9], 'altitude') };
  read(s, 'fixQuality', p[6]);
  read(s, 'satellites', p[7]);
  read(s, 'hdop', p[8]);
  read(s, 'altitude', p[9]);
  return { readings: s.readings, location };
}

// $GPRMC,time,status,lat,N,lon,E,speed,course,date,magVar,E[,mode[,navStatus]]
function rmc(s: Sentence): DecodedFrame {
  const p = needParts(s.parts, 10, 'RMC');
  if (p[2] === 'V') return { readings: [] };
  if (p[2] !== 'A') throw new FrameError(`nmea: RMC status ${quote(p[2])} is neither A nor V`);
  const location: Location = { lat: latitude(p[3], p[4]), lon: longitude(p[5], p[6]) };
  read(s, 'speed', p[7]);
  read(s, 'course', p[8]);
  const timestamp = p[1] !== '' && p[9] !== '' ? utc(p[9], p[1]) : undefined;
  return timestamp === undefined ? { readings: s.readings, location } : { readings: s.readings, location, timestamp };
}

function needParts(parts: string[], n: number, type: string): string[] {
  if (parts.length < n) throw new FrameError(`nmea: ${type} sentence has ${parts.length - 1} fields, expected at least ${n - 1}`);
  return parts;
}

function read(s: Sentence, name: string, text: string): void {
  if (text === '' || (s.wanted !== null && !s.wanted.has(name))) return;
  s.readings.push(makeReading('nmea', name, number(text, name)!, s.wanted?.get(name) ?? null, DEFAULT_UNITS[name]));
}

/** Empty (unknown) is null; anything else must be a number. */
function number(text: string, name: string): number | null {
  if (text === '') return null;
  const n = parseNumber(text);
  if (n === undefined) throw new FrameError(`nmea: ${name} ${quote(text)} is not a number`);
  return n;
}

// Degrees then minutes: ddmm.mmmm (latitude), dddmm.mmmm (longitude).
const COORDINATE = /^(\d+)(\d\d(?:\.\d+)?)$/;

function latitude(text: string, hemisphere: string): number {
  return coordinate(text, hemisphere, 'latitude', 'N', 'S', 90);
}

function longitude(text: string, hemisphere: string): number {
  return coordinate(text, hemisphere, 'longitude', 'E', 'W', 180);
}

function coordinate(text: string, hemisphere: string, kind: string, positive: string, negative: string, max: number): number {
  const m = COORDINATE.exec(text);
  const degrees = m === null ? NaN : Number(m[1]) + Number(m[2]) / 60;
  if (m === null || Number(m[2]) >= 60 || degrees > max || (hemisphere !== positive && hemisphere !== negative)) {
    throw new FrameError(`nmea: malformed ${kind} ${quote(`${text},${hemisphere}`)}`);
  }
  return hemisphere === negative ? -degrees : degrees;
}

const DATE = /^(\d\d)(\d\d)(\d\d)$/;
const TIME = /^(\d\d)(\d\d)(\d\d)(\.\d+)?$/;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** RMC's ddmmyy and hhmmss.sss as epoch ms (two-digit years: 80–99 are 19xx). */
function utc(date: string, time: string): number {
  const d = DATE.exec(date);
  const t = TIME.exec(time);
  if (d === null) throw new FrameError(`nmea: malformed date ${quote(date)}`);
  if (t === null) throw new FrameError(`nmea: malformed time ${quote(time)}`);
  const [day, month, yy] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const year = yy < 80 ? 2000 + yy : 1900 + yy;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 1 : 0;
  if (month < 1 || month > 12 || day < 1 || day > MONTH_DAYS[month - 1] + leap) {
    throw new FrameError(`nmea: malformed date ${quote(date)}`);
  }
  const [h, min, sec] = [Number(t[1]), Number(t[2]), Number(t[3])];
  // 60 seconds: a leap second.
  if (h > 23 || min > 59 || sec > 60) throw new FrameError(`nmea: malformed time ${quote(time)}`);
  const ms = t[4] === undefined ? 0 : Math.round(Number(t[4]) * 1000);
  return Date.UTC(year, month - 1, day, h, min, sec, ms);
}
