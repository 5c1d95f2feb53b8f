// A profile's format, as one function from a frame to its readings. Profile mistakes (a
// regex field naming a group the pattern lacks, say) throw a plain Error here, once;
// frames that do not decode throw FrameError, each time.
import { MAX_FRAME_BYTES } from '../framing.js';
import { FrameError, type DeviceProfile, type FrameDecoder } from '../types.js';
import { createCsvDecoder } from './csv.js';
import { createHexDecoder } from './hex.js';
import { createJsonDecoder } from './json.js';
import { createKvDecoder } from './kv.js';
import { createNmeaDecoder } from './nmea.js';
import { createRegexDecoder } from './regex.js';

export function createDecoder(profile: Pick<DeviceProfile, 'format' | 'fields' | 'options'>): FrameDecoder {
  const decode = formatDecoder(profile);
  return (frame) => {
    // Longer frames are what a framer cut when the delimiter never came (framing.ts).
    if (frame.length > MAX_FRAME_BYTES) {
      throw new FrameError(`frame of ${frame.length} bytes is over the ${MAX_FRAME_BYTES}-byte limit (no delimiter in time)`);
    }
    return decode(frame);
  };
}

function formatDecoder({ format, fields, options }: Pick<DeviceProfile, 'format' | 'fields' | 'options'>): FrameDecoder {
  switch (format) {
    case 'json': return createJsonDecoder(fields);
    case 'csv': return createCsvDecoder(fields, options);
    case 'kv': return createKvDecoder(fields, options);
    case 'nmea': return createNmeaDecoder(fields, options);
    case 'regex': return createRegexDecoder(fields, options);
    case 'hex': return createHexDecoder(fields, options);
    case 'modbus': throw new Error('modbus is not frame-based: its registers are read by the Modbus client');
  }
}
