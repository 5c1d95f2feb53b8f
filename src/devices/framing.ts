// Cutting a serial byte stream into frames (SPEC §6), on serialport's parsers. Every framer
// emits one Buffer per frame in object mode, so a consumer that reads (rather than listens)
// never gets two frames merged into one chunk; frames stay bytes, so a line that is not
// UTF-8 reaches the rejected store as it came. Empty frames (blank lines) are dropped.
//
// Memory is bounded: a line that runs past MAX_FRAME_BYTES without its delimiter (a wrong
// baud rate, a binary device on a readline profile) is emitted as it stands, longer than the
// limit, so the decoder rejects it (formats/index.ts), and the rest of that line, up to the
// next delimiter, is dropped: on its own it would look like a short, valid frame.
//
// When the port's stream ends, a partial line or fixed-length frame is dropped for the same
// reason; an inter-byte-timeout packet is complete by then (the silence has started).
import type { Transform, TransformCallback } from 'node:stream';
import { ByteLengthParser } from '@serialport/parser-byte-length';
import { DelimiterParser } from '@serialport/parser-delimiter';
import { InterByteTimeoutParser } from '@serialport/parser-inter-byte-timeout';
import { RegexParser } from '@serialport/parser-regex';
import type { FramingSpec } from './types.js';

/** The longest frame a framer emits whole; anything longer was cut and is rejected. */
export const MAX_FRAME_BYTES = 64 * 1024;

const CR = 0x0d;
const LF = Buffer.from('\n');

export function createFramer(spec: FramingSpec): Transform {
  switch (spec.kind) {
    case 'readline':
      // "\r\n" splits at "\n" and strips the "\r", so a device that sends bare "\n" still works.
      return spec.delimiter === '\r\n'
        ? new DelimiterFramer(LF, false, true)
        : new DelimiterFramer(Buffer.from(spec.delimiter, 'utf8'), false, false);
    case 'delimiter':
      return new DelimiterFramer(spec.delimiter, spec.includeDelimiter, false);
    case 'length':
      if (spec.length > MAX_FRAME_BYTES) {
        throw new RangeError(`framing: length ${spec.length} is over the ${MAX_FRAME_BYTES}-byte frame limit`);
      }
      return new LengthFramer(spec.length);
    case 'interByteTimeout':
      // A packet that fills maxBufferSize is cut by the parser itself: the cap keeps it decodable.
      return new QuietFramer(spec.ms, Math.min(spec.maxBufferSize, MAX_FRAME_BYTES));
    case 'regex':
      return new RegexFramer(spec.regex);
  }
}

// ReadlineParser is DelimiterParser with a utf8 output encoding (string frames), so readline
// uses DelimiterParser directly.
class DelimiterFramer extends DelimiterParser {
  /** A line was cut at the limit: what is pushed next is its tail. */
  private skipping = false;
  private readonly emptyLength: number;

  constructor(delimiter: Buffer, includeDelimiter: boolean, private readonly stripCr: boolean) {
    super({ delimiter, includeDelimiter, readableObjectMode: true });
    this.emptyLength = includeDelimiter ? delimiter.length : 0;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, cb: TransformCallback): void {
    super._transform(chunk, encoding, (err?: Error | null) => {
      if (this.buffer.length > MAX_FRAME_BYTES) {
        super.push(this.buffer);
        this.buffer = Buffer.alloc(0);
        this.skipping = true;
      }
      cb(err);
    });
  }

  override _flush(cb: TransformCallback): void {
    this.buffer = Buffer.alloc(0);
    cb();
  }

  override push(chunk: Buffer | null, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null);
    if (this.skipping) {
      this.skipping = false;
      return true;
    }
    let frame = chunk;
    if (this.stripCr && frame.length > 0 && frame[frame.length - 1] === CR) frame = frame.subarray(0, frame.length - 1);
    return frame.length > this.emptyLength ? super.push(frame, encoding) : true;
  }
}

class LengthFramer extends ByteLengthParser {
  constructor(length: number) {
    super({ length, readableObjectMode: true });
  }

  override _flush(cb: TransformCallback): void {
    cb();
  }
}

class QuietFramer extends InterByteTimeoutParser {
  constructor(ms: number, maxBufferSize: number) {
    super({ interval: ms, maxBufferSize, readableObjectMode: true });
  }

  // The parser's timer would otherwise outlive a destroyed stream (and keep a test alive).
  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    clearTimeout(this.intervalID);
    super._destroy(err, cb);
  }
}

// RegexParser splits text it gets by `String(chunk)`, which breaks a UTF-8 character that
// straddles two reads and loses bytes that are not UTF-8. Fed latin1 instead (one character
// per byte, both ways), it splits bytes, and each frame converts back exactly. The regex
// therefore sees bytes: separators are best written in ASCII.
class RegexFramer extends RegexParser {
  private skipping = false;

  constructor(regex: RegExp) {
    super({ regex, encoding: undefined, readableObjectMode: true });
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, cb: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    super._transform(text, encoding, (err?: Error | null) => {
      if (this.data.length > MAX_FRAME_BYTES) {
        super.push(Buffer.from(this.data, 'latin1'));
        this.data = '';
        this.skipping = true;
      }
      cb(err);
    });
  }

  override _flush(cb: TransformCallback): void {
    this.data = '';
    cb();
  }

  // Parts are latin1 strings; a capture group in the regex that did not match adds undefined.
  override push(chunk: string | Buffer | null | undefined): boolean {
    if (chunk === null) return super.push(null);
    if (this.skipping) {
      this.skipping = false;
      return true;
    }
    if (typeof chunk !== 'string' || chunk.length === 0) return true;
    return super.push(Buffer.from(chunk, 'latin1'));
  }
}
