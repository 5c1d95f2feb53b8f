import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Transform } from 'node:stream';
// SerialPortMock is SerialPortStream over MockBinding (@serialport/binding-mock), typed.
import { SerialPortMock } from 'serialport';
import { createDecoder } from '../../src/devices/formats/index.js';
import { createFramer, MAX_FRAME_BYTES } from '../../src/devices/framing.js';
import { FrameError, type FormatOptions, type FramingSpec } from '../../src/devices/types.js';
import { waitFor } from '../helpers/wait.js';

interface MockLine {
  /** Every frame the framer emitted, in order. */
  frames: Buffer[];
  /** Emits each chunk on the port and waits until the port has read it, so chunks stay apart. */
  send(...chunks: (string | number[] | Buffer)[]): Promise<void>;
  /** Waits until `n` frames have come out, and returns them as text. */
  until(n: number): Promise<string[]>;
  close(): Promise<void>;
}

const OPTIONS: FormatOptions = {
  separator: ',', header: true, assign: '=', pattern: null, input: 'binary', requireChecksum: false, unitId: 1,
};

let ports = 0;

/** A MockBinding port piped into the framer for `spec`, open. */
async function mockLine(spec: FramingSpec): Promise<MockLine> {
  const path = `/dev/mock-framing-${++ports}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: false, maxReadSize: 256 * 1024 });
  const port = new SerialPortMock({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const framer = createFramer(spec);
  const frames: Buffer[] = [];
  framer.on('data', (frame: Buffer) => frames.push(frame));
  let sent = 0;
  let read = 0;
  port.on('data', (chunk: Buffer) => {
    read += chunk.length;
  });
  port.pipe(framer);
  return {
    frames,
    async send(...chunks) {
      for (const chunk of chunks) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
        sent += bytes.length;
        port.port!.emitData(bytes);
        await waitFor(() => read >= sent, { interval: 1, message: `the port to read ${sent} bytes` });
      }
    },
    async until(n) {
      await waitFor(() => frames.length >= n, { message: `${n} frames (got ${frames.length})` });
      return frames.map((f) => f.toString('latin1'));
    },
    async close() {
      port.unpipe(framer);
      framer.destroy();
      await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
    },
  };
}

/** Runs `body` against a fresh mock line, closed afterwards even when it fails. */
async function withLine(spec: FramingSpec, body: (line: MockLine) => Promise<void>): Promise<void> {
  const line = await mockLine(spec);
  try {
    await body(line);
  } finally {
    await line.close();
  }
}

/** Writes straight into a framer, ends it, and reads every frame back (as a consumer that reads). */
async function drain(framer: Transform, ...chunks: (string | Buffer)[]): Promise<string[]> {
  for (const c of chunks) framer.write(c);
  framer.end();
  const out: string[] = [];
  for await (const frame of framer) {
    assert.ok(Buffer.isBuffer(frame), 'frames are Buffers');
    out.push((frame as Buffer).toString('latin1'));
  }
  return out;
}

after(() => SerialPortMock.binding.reset());

describe('readline', () => {
  test('a frame across two chunks, two frames in one chunk, blank lines dropped', () =>
    withLine({ kind: 'readline', delimiter: '\n' }, async (line) => {
      await line.send('t=1\nt=', '2\n\n\nt=3\nt=4\n', '\n', 'end\n');
      assert.deepEqual(await line.until(5), ['t=1', 't=2', 't=3', 't=4', 'end']);
    }));

  test('"\\r\\n" strips the "\\r", copes with bare "\\n", and with a CRLF split across chunks', () =>
    withLine({ kind: 'readline', delimiter: '\r\n' }, async (line) => {
      await line.send('a\r\nb\n', 'c\r', '\nd\r\n\r\n', 'end\r\n');
      assert.deepEqual(await line.until(5), ['a', 'b', 'c', 'd', 'end']);
    }));

  test('"\\n" keeps a "\\r" (only "\\r\\n" means CRLF)', async () => {
    assert.deepEqual(await drain(createFramer({ kind: 'readline', delimiter: '\n' }), 'a\r\n'), ['a\r']);
  });

  test('frames are bytes: bad UTF-8 and a character split across chunks arrive intact', () =>
    withLine({ kind: 'readline', delimiter: '\n' }, async (line) => {
      await line.send(Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from([0x63, 0x61, 0x66, 0xc3]), Buffer.from([0xa9, 0x0a]), 'end\n');
      await line.until(3);
      assert.ok(line.frames.every((f) => Buffer.isBuffer(f)));
      assert.deepEqual(line.frames[0], Buffer.from([0xff, 0xfe]));
      assert.equal(line.frames[1].toString('utf8'), 'café');
    }));

  test('a line past the limit is cut, emitted (and rejected), and its tail dropped', () =>
    withLine({ kind: 'readline', delimiter: '\n' }, async (line) => {
      const block = Buffer.alloc(24 * 1024, 0x41);
      await line.send('before\n', block, block, block, block, block, block, 'tail of the long line\nafter\n');
      const frames = await line.until(4);
      assert.equal(frames[0], 'before');
      assert.deepEqual(frames.slice(-1), ['after']);
      const cuts = line.frames.slice(1, -1);
      assert.equal(cuts.length, 2, '144 KiB without a delimiter: two cuts, then the tail dropped');
      for (const cut of cuts) {
        assert.ok(cut.length > MAX_FRAME_BYTES && cut.length <= MAX_FRAME_BYTES + block.length, `cut of ${cut.length} bytes`);
        assert.throws(() => createDecoder({ format: 'json', fields: [], options: OPTIONS })(cut), FrameError);
      }
    }));
});

describe('delimiter', () => {
  test('raw byte delimiter (0x7E), without it in the frame; empty frames dropped', () =>
    withLine({ kind: 'delimiter', delimiter: Buffer.from([0x7e]), includeDelimiter: false }, async (line) => {
      await line.send([0x7e, 0x01, 0x02], [0x7e, 0x7e, 0x03, 0x7e, 0x04], [0x7e]);
      await line.until(3);
      assert.deepEqual(line.frames, [Buffer.from([1, 2]), Buffer.from([3]), Buffer.from([4])]);
    }));

  test('includeDelimiter keeps it; a lone delimiter is still an empty frame', () =>
    withLine({ kind: 'delimiter', delimiter: Buffer.from('\r\n'), includeDelimiter: true }, async (line) => {
      await line.send('\r\nab\r', '\n\r\ncd\r\n');
      assert.deepEqual(await line.until(2), ['ab\r\n', 'cd\r\n']);
    }));
});

describe('length', () => {
  test('fixed-size frames whatever the chunks', () =>
    withLine({ kind: 'length', length: 4 }, async (line) => {
      await line.send([1, 2, 3], [4, 5, 6, 7, 8, 9], [10, 11, 12]);
      await line.until(3);
      assert.deepEqual(line.frames, [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8]), Buffer.from([9, 10, 11, 12])]);
    }));

  test('a partial frame at the end of the stream is dropped', async () => {
    assert.deepEqual(await drain(createFramer({ kind: 'length', length: 2 }), 'abcde'), ['ab', 'cd']);
  });

  test('a length over the frame limit is refused', () => {
    assert.throws(() => createFramer({ kind: 'length', length: MAX_FRAME_BYTES + 1 }), RangeError);
  });
});

describe('interByteTimeout', () => {
  // The quiet time is long next to the moment between two chunks, which the test sends back to back.
  const QUIET = 250;

  test('a binary frame split across chunks is one frame; the silence ends it', () =>
    withLine({ kind: 'interByteTimeout', ms: QUIET, maxBufferSize: 256 }, async (line) => {
      await line.send([0x01, 0x03, 0x02], [0x00, 0x0a]);
      await line.until(1);
      await line.send([0x01, 0x83]);
      await line.until(2);
      assert.deepEqual(line.frames, [Buffer.from([1, 3, 2, 0, 10]), Buffer.from([1, 0x83])]);
    }));

  test('maxBufferSize cuts a packet without waiting for the silence', () =>
    withLine({ kind: 'interByteTimeout', ms: QUIET, maxBufferSize: 4 }, async (line) => {
      await line.send([1, 2, 3, 4, 5, 6]);
      await line.until(2);
      assert.deepEqual(line.frames, [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6])]);
    }));

  test('the end of the stream ends the packet', async () => {
    assert.deepEqual(await drain(createFramer({ kind: 'interByteTimeout', ms: 60_000, maxBufferSize: 256 }), 'ab'), ['ab']);
  });
});

describe('regex', () => {
  test('splits on the pattern, bytes intact, empty parts dropped', () =>
    withLine({ kind: 'regex', regex: /\r?\n|;/ }, async (line) => {
      await line.send('a;b\r\nc', Buffer.from([0x61, 0x66, 0xc3]), Buffer.from([0xa9, 0x3b, 0x3b, 0xff, 0x0a]), 'end;');
      await line.until(5);
      assert.deepEqual(line.frames.map((f) => f.toString('utf8')).slice(0, 3), ['a', 'b', 'café']);
      assert.deepEqual(line.frames[3], Buffer.from([0xff]));
      assert.equal(line.frames[4].toString(), 'end');
    }));

  test('a part past the limit is cut and its tail dropped', () =>
    withLine({ kind: 'regex', regex: /\n/ }, async (line) => {
      await line.send(Buffer.alloc(MAX_FRAME_BYTES + 10, 0x42), 'tail\nnext\n');
      await line.until(2);
      assert.equal(line.frames[0].length, MAX_FRAME_BYTES + 10);
      assert.equal(line.frames[1].toString(), 'next');
      assert.equal(line.frames.length, 2);
    }));
});

describe('every framer', () => {
  test('emits frames one by one to a consumer that reads (object mode)', async () => {
    assert.deepEqual(await drain(createFramer({ kind: 'readline', delimiter: '\n' }), 'a\nb\n', 'c\n'), ['a', 'b', 'c']);
    assert.deepEqual(await drain(createFramer({ kind: 'regex', regex: /,/ }), 'a,b,', 'c,'), ['a', 'b', 'c']);
  });

  test('an unterminated line at the end of the stream is dropped', async () => {
    assert.deepEqual(await drain(createFramer({ kind: 'readline', delimiter: '\n' }), 'a\npart'), ['a']);
    assert.deepEqual(await drain(createFramer({ kind: 'regex', regex: /\n/ }), 'a\npart'), ['a']);
  });
});
