// Plausible readings for a simulated device, and how they are carried: a value is made in
// engineering units (°C, %, hPa…), then turned into what the device sends — the raw value
// the decoder multiplies by `scale` and adds `add` to — rounded and clamped to the field's
// binary type. Values move slowly and deterministically with the tick number.
import type { BinaryType, DeviceProfile, FieldSpec } from '../../src/devices/types.js';

interface Range {
  mid: number;
  swing: number;
}

/** Checked in order: units first (they are the more exact hint), then names. */
const RANGES: { unit?: RegExp; name?: RegExp; range: Range }[] = [
  { unit: /^(°?c|degc|celsius)$/i, range: { mid: 21, swing: 3 } },
  { unit: /^(°?f|degf|fahrenheit)$/i, range: { mid: 70, swing: 5 } },
  { unit: /^%\s*rh$/i, range: { mid: 50, swing: 10 } },
  { unit: /^(hpa|mbar)$/i, range: { mid: 1013, swing: 6 } },
  { unit: /^kpa$/i, range: { mid: 101.3, swing: 0.6 } },
  { unit: /^pa$/i, range: { mid: 101_300, swing: 600 } },
  { unit: /^bar$/i, range: { mid: 1.013, swing: 0.006 } },
  { unit: /^mv$/i, range: { mid: 3300, swing: 30 } },
  { unit: /^v$/i, range: { mid: 12.5, swing: 0.5 } },
  { unit: /^ma$/i, range: { mid: 12, swing: 4 } },
  { unit: /^a$/i, range: { mid: 2, swing: 0.5 } },
  { unit: /^kwh$/i, range: { mid: 1200, swing: 5 } },
  { unit: /^kw$/i, range: { mid: 2.5, swing: 0.5 } },
  { unit: /^w$/i, range: { mid: 250, swing: 50 } },
  { unit: /^ppm$/i, range: { mid: 600, swing: 150 } },
  { unit: /^(m\/s|km\/h|kn)$/i, range: { mid: 4, swing: 2 } },
  { unit: /^rpm$/i, range: { mid: 1500, swing: 100 } },
  { unit: /^hz$/i, range: { mid: 50, swing: 0.05 } },
  { unit: /^(lx|lux)$/i, range: { mid: 300, swing: 100 } },
  { unit: /^%$/, range: { mid: 50, swing: 10 } },
  { name: /temp/i, range: { mid: 21, swing: 3 } },
  { name: /hum/i, range: { mid: 50, swing: 10 } },
  { name: /press/i, range: { mid: 1013, swing: 6 } },
  { name: /volt/i, range: { mid: 12.5, swing: 0.5 } },
  { name: /curr|amp/i, range: { mid: 2, swing: 0.5 } },
  { name: /co2/i, range: { mid: 600, swing: 150 } },
  { name: /energy/i, range: { mid: 1200, swing: 5 } },
  { name: /power|watt/i, range: { mid: 250, swing: 50 } },
  { name: /wind|speed/i, range: { mid: 4, swing: 2 } },
  { name: /rpm/i, range: { mid: 1500, swing: 100 } },
  { name: /freq/i, range: { mid: 50, swing: 0.05 } },
  { name: /lux|light/i, range: { mid: 300, swing: 100 } },
  { name: /batt|level/i, range: { mid: 75, swing: 10 } },
];
const DEFAULT_RANGE: Range = { mid: 50, swing: 10 };

export const TYPE_SIZE: Record<BinaryType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8 };

const INT_LIMITS: Partial<Record<BinaryType, [number, number]>> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f],
  u16: [0, 0xffff], i16: [-0x8000, 0x7fff],
  u32: [0, 0xffff_ffff], i32: [-0x8000_0000, 0x7fff_ffff],
};

function rangeOf(field: FieldSpec): Range {
  for (const r of RANGES) {
    if (r.unit && field.unit !== null && r.unit.test(field.unit.trim())) return r.range;
    if (r.name && r.name.test(field.name)) return r.range;
  }
  return DEFAULT_RANGE;
}

/** The engineering values the simulator stays within for this field. */
export function plausibleRange(field: FieldSpec): { min: number; max: number } {
  const { mid, swing } = rangeOf(field);
  return { min: mid - swing, max: mid + swing };
}

/** The field's value at `tick`, in engineering units: two slow waves, phase-shifted per field. */
export function plausibleValue(field: FieldSpec, index: number, tick: number): number {
  const { mid, swing } = rangeOf(field);
  const wave = 0.7 * Math.sin((2 * Math.PI * (tick + 7 * index)) / 90) + 0.3 * Math.sin((2 * Math.PI * (tick + 3 * index)) / 23);
  return mid + swing * wave;
}

/** One reading as sent: `raw` is what goes on the wire, `value` what the decoder will make of it. */
export interface Sample {
  field: FieldSpec;
  raw: number;
  value: number;
}

/**
 * `binary`: the raw value is packed as the field's type (default u16); otherwise it is
 * written as text — a whole number when the field is scaled (the device sends counts),
 * else with two decimals.
 */
export function sampleField(field: FieldSpec, index: number, tick: number, binary: boolean): Sample {
  const exact = (plausibleValue(field, index, tick) - field.add) / field.scale;
  let raw: number;
  if (binary) {
    const type = field.type ?? 'u16';
    const limits = INT_LIMITS[type];
    raw = limits ? Math.min(limits[1], Math.max(limits[0], Math.round(exact))) : type === 'f32' ? Math.fround(exact) : exact;
  } else {
    raw = field.scale !== 1 ? Math.round(exact) : Math.round(exact * 100) / 100;
  }
  return { field, raw, value: raw * field.scale + field.add };
}

/** Every field of the profile at `tick`. */
export function sampleFrame(profile: DeviceProfile, tick: number): Sample[] {
  // hex frames carry packed numbers even when written as hex digits.
  const binary = profile.format === 'modbus' || profile.format === 'hex';
  return profile.fields.map((f, i) => sampleField(f, i, tick, binary));
}

/** The raw value as `type` in big-endian (network) byte order. */
export function packBig(type: BinaryType, raw: number): Buffer {
  const b = Buffer.alloc(TYPE_SIZE[type]);
  switch (type) {
    case 'u8': b.writeUInt8(raw); break;
    case 'i8': b.writeInt8(raw); break;
    case 'u16': b.writeUInt16BE(raw); break;
    case 'i16': b.writeInt16BE(raw); break;
    case 'u32': b.writeUInt32BE(raw); break;
    case 'i32': b.writeInt32BE(raw); break;
    case 'f32': b.writeFloatBE(raw); break;
    case 'f64': b.writeDoubleBE(raw); break;
  }
  return b;
}

/** Bytes for a hex frame field: `endian` little reverses the whole value. */
export function packField(type: BinaryType, endian: 'big' | 'little', raw: number): Buffer {
  const b = packBig(type, raw);
  return endian === 'little' ? b.reverse() : b;
}

/**
 * 16-bit registers for a Modbus field: bytes within a register are always big-endian;
 * `wordOrder` little puts the low word first. u8/i8 take a whole register (as u16/i16).
 */
export function registerWords(type: BinaryType, wordOrder: 'big' | 'little', raw: number): number[] {
  const b = packBig(type === 'u8' ? 'u16' : type === 'i8' ? 'i16' : type, raw);
  const words: number[] = [];
  for (let i = 0; i < b.length; i += 2) words.push(b.readUInt16BE(i));
  return wordOrder === 'little' ? words.reverse() : words;
}
