// Modbus registers → readings (SPEC §6 `format: modbus`): which reads cover a profile's
// fields, and how the 16-bit words become numbers.
import { FrameError, type DecodedFrame, type FieldSpec } from './types.js';

/** A Modbus read returns at most 125 registers. */
const MAX_SPAN = 125;

export interface RegisterRead {
  table: 'holding' | 'input';
  address: number;
  count: number;
  fields: FieldSpec[];
}

export function wordsOf(field: FieldSpec): number {
  return field.type === 'u32' || field.type === 'i32' || field.type === 'f32' ? 2 : 1;
}

/** Fewest reads: one per table when its fields fit in one span, else one per field. */
export function planReads(fields: readonly FieldSpec[]): RegisterRead[] {
  const reads: RegisterRead[] = [];
  for (const table of ['holding', 'input'] as const) {
    const mine = fields.filter((f) => f.table === table);
    if (mine.length === 0) continue;
    const start = Math.min(...mine.map((f) => f.register!));
    const end = Math.max(...mine.map((f) => f.register! + wordsOf(f)));
    if (end - start <= MAX_SPAN) reads.push({ table, address: start, count: end - start, fields: mine });
    else for (const f of mine) reads.push({ table, address: f.register!, count: wordsOf(f), fields: [f] });
  }
  return reads;
}

/** One field's value out of the registers a read returned (starting at `base`). */
export function fieldValue(field: FieldSpec, words: readonly number[], base: number): number {
  const at = field.register! - base;
  const n = wordsOf(field);
  if (at < 0 || at + n > words.length) throw new FrameError(`modbus: register ${field.register} of "${field.name}" is not in the answer`);
  const buf = Buffer.alloc(4);
  if (n === 1) {
    buf.writeUInt16BE(words[at] & 0xffff, 0);
  } else {
    const [hi, lo] = field.wordOrder === 'big' ? [words[at], words[at + 1]] : [words[at + 1], words[at]];
    buf.writeUInt16BE(hi & 0xffff, 0);
    buf.writeUInt16BE(lo & 0xffff, 2);
  }
  let v: number;
  switch (field.type) {
    case 'i16': v = buf.readInt16BE(0); break;
    case 'u32': v = buf.readUInt32BE(0); break;
    case 'i32': v = buf.readInt32BE(0); break;
    case 'f32': v = buf.readFloatBE(0); break;
    default: v = buf.readUInt16BE(0);
  }
  if (!Number.isFinite(v)) throw new FrameError(`modbus: "${field.name}" is not a finite number`);
  return field.scale === 1 && field.add === 0 ? v : v * field.scale + field.add;
}

export function readingsOf(read: RegisterRead, words: readonly number[]): DecodedFrame['readings'] {
  return read.fields.map((f) => ({ sensor: f.name, value: fieldValue(f, words, read.address), unit: f.unit }));
}
