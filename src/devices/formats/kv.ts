// kv: `t=21.5 h=40`, `t=21.5,h=40`, `t = 21.5; h = 40`: pairs apart by whitespace, commas or
// semicolons, key and value joined by `assign`. With fields, each reads its key (default:
// its name); without, every pair is a reading.
import { FrameError, type DecodedReading, type FieldSpec, type FormatOptions, type FrameDecoder } from '../types.js';
import { checkFrameKey, frameText, quote, textReading } from './common.js';

const BETWEEN_PAIRS = /[\s,;]+/;

export function createKvDecoder(fields: readonly FieldSpec[], options: FormatOptions): FrameDecoder {
  const assign = options.assign;
  if (assign === '') throw new Error('kv: the assign separator is empty');
  // Spaces around the assign sign would otherwise split a pair in three.
  const spacedAssign = new RegExp(`\\s*${assign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*`, 'g');
  const keys = fields.map((f) => f.key ?? f.name);
  return (frame) => {
    const tokens = frameText(frame, 'kv').replace(spacedAssign, assign).split(BETWEEN_PAIRS);
    const pairs = new Map<string, string>();
    const readings: DecodedReading[] = [];
    for (const token of tokens) {
      if (token === '') continue;
      const at = token.indexOf(assign);
      if (at <= 0) throw new FrameError(`kv: ${quote(token)} is not a key${assign}value pair`);
      const key = token.slice(0, at);
      const value = token.slice(at + assign.length);
      if (fields.length === 0) readings.push(textReading('kv', checkFrameKey('kv', key), value, null));
      else pairs.set(key, value);
    }
    if (fields.length === 0) {
      if (readings.length === 0) throw new FrameError(`kv: no key${assign}value pairs`);
      return { readings };
    }
    for (let i = 0; i < fields.length; i++) {
      const value = pairs.get(keys[i]);
      if (value === undefined) throw new FrameError(`kv: missing key "${keys[i]}"`);
      readings.push(textReading('kv', fields[i].name, value, fields[i]));
    }
    return { readings };
  };
}
