// csv: one record per frame, fields by column (default: their position in `fields`). No
// quoting: device CSV is numbers and short words. With `header`, a line that is not a number
// in any field's column is a header (devices print one again after each reset): skipped.
import { FrameError, type FieldSpec, type FormatOptions, type FrameDecoder } from '../types.js';
import { frameText, parseNumber, textReading } from './common.js';

export function createCsvDecoder(fields: readonly FieldSpec[], options: FormatOptions): FrameDecoder {
  if (fields.length === 0) throw new Error('csv: fields are required (one per column read)');
  if (options.separator === '') throw new Error('csv: the separator is empty');
  const columns = fields.map((f, i) => f.column ?? i);
  const needed = Math.max(...columns) + 1;
  const texts: string[] = new Array<string>(fields.length);
  return (frame) => {
    const cells = frameText(frame, 'csv').split(options.separator);
    if (cells.length < needed) throw new FrameError(`csv: expected ${needed} columns, got ${cells.length}`);
    let numbers = 0;
    for (let i = 0; i < columns.length; i++) {
      texts[i] = cells[columns[i]].trim();
      if (parseNumber(texts[i]) !== undefined) numbers++;
    }
    if (options.header && numbers === 0) return { readings: [] };
    return { readings: fields.map((f, i) => textReading('csv', f.name, texts[i], f)) };
  };
}
