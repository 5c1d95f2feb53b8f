// hex: binary frames, or frames of hex digits as text (`input: text`; whitespace allowed).
// Each field reads a number of its `type` at byte `offset`, big-endian unless it says little.
import { FrameError, type BinaryType, type FieldSpec, type FormatOptions, type FrameDecoder } from '../types.js';
import { frameText, makeReading, quote } from './common.js';

type Read = (b: Buffer, at: number) => number;

const SIZE: Readonly<Record<BinaryType, number>> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8 };

const READ: Readonly<Record<BinaryType, { big: Read; little: Read }>> = {
  u8: { big: (b, at) => b.readUInt8(at), little: (b, at) => b.readUInt8(at) },
  i8: { big: (b, at) => b.readInt8(at), little: (b, at) => b.readInt8(at) },
  u16: { big: (b, at) => b.readUInt16BE(at), little: (b, at) => b.readUInt16LE(at) },
  i16: { big: (b, at) => b.readInt16BE(at), little: (b, at) => b.readInt16LE(at) },
  u32: { big: (b, at) => b.readUInt32BE(at), little: (b, at) => b.readUInt32LE(at) },
  i32: { big: (b, at) => b.readInt32BE(at), little: (b, at) => b.readInt32LE(at) },
  f32: { big: (b, at) => b.readFloatBE(at), little: (b, at) => b.readFloatLE(at) },
  f64: { big: (b, at) => b.readDoubleBE(at), little: (b, at) => b.readDoubleLE(at) },
};

interface Slot {
  field: FieldSpec;
  type: BinaryType;
  offset: number;
  end: number;
  read: Read;
}

export function createHexDecoder(fields: readonly FieldSpec[], options: FormatOptions): FrameDecoder {
  if (fields.length === 0) throw new Error('hex: fields are required (each with offset and type)');
  const slots = fields.map((field): Slot => {
    const { offset, type } = field;
    if (offset === null || type === null) throw new Error(`hex: field "${field.name}" needs an offset and a type`);
    return { field, type, offset, end: offset + SIZE[type], read: READ[type][field.endian] };
  });
  return (frame) => {
    const bytes = options.input === 'text' ? fromHexText(frame) : frame;
    return {
      readings: slots.map((s) => {
        if (s.end > bytes.length) {
          throw new FrameError(`hex: frame of ${bytes.length} bytes is too short for field "${s.field.name}" (${s.type} at offset ${s.offset})`);
        }
        return makeReading('hex', s.field.name, s.read(bytes, s.offset), s.field);
      }),
    };
  };
}

function fromHexText(frame: Buffer): Buffer {
  const digits = frameText(frame, 'hex').replace(/\s+/g, '');
  const bad = /[^0-9A-Fa-f]/.exec(digits);
  if (bad !== null) throw new FrameError(`hex: ${quote(bad[0])} is not a hex digit`);
  if (digits.length % 2 !== 0) throw new FrameError(`hex: odd number of hex digits (${digits.length})`);
  return Buffer.from(digits, 'hex');
}
