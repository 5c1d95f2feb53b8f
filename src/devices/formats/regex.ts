// regex: the frame's text must match `pattern`; each named group is a reading. With fields,
// each reads its group (default: its name), which must have matched; without, every group
// that matched is read.
import { FrameError, type DecodedReading, type FieldSpec, type FormatOptions, type FrameDecoder } from '../types.js';
import { frameText, textReading } from './common.js';

export function createRegexDecoder(fields: readonly FieldSpec[], options: FormatOptions): FrameDecoder {
  const pattern = options.pattern;
  if (pattern === null) throw new Error('regex: options.pattern is required');
  const groups = namedGroups(pattern);
  if (groups.length === 0) throw new Error(`regex: the pattern ${pattern} has no named groups`);
  const wanted = fields.map((f) => f.group ?? f.name);
  for (const g of wanted) {
    if (!groups.includes(g)) throw new Error(`regex: the pattern has no group "${g}" (it has: ${groups.join(', ')})`);
  }
  // Without g and y, exec keeps no lastIndex between frames.
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (frame) => {
    const found = re.exec(frameText(frame, 'regex'))?.groups;
    if (found === undefined) throw new FrameError(`regex: frame does not match ${pattern}`);
    const readings: DecodedReading[] = [];
    if (fields.length === 0) {
      for (const g of groups) if (found[g] !== undefined) readings.push(textReading('regex', g, found[g], null));
      return { readings };
    }
    for (let i = 0; i < fields.length; i++) {
      const text = found[wanted[i]];
      if (text === undefined) throw new FrameError(`regex: group "${wanted[i]}" did not match`);
      readings.push(textReading('regex', fields[i].name, text, fields[i]));
    }
    return { readings };
  };
}

// An alternative that matches the empty string makes every group show up, unmatched.
function namedGroups(re: RegExp): string[] {
  return Object.keys(new RegExp(`(?:${re.source})|`, re.flags.replace(/[gy]/g, '')).exec('')?.groups ?? {});
}
