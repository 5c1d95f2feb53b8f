// Real serial ports for tests: the socat pty pair (scripts/simulate/pty-pair.ts, shared
// with the simulator) and the far end as a test talks on it.
import type { TestContext } from 'node:test';
import { openPort } from '../../src/devices/serial-binding.js';
import type { SerialPort } from 'serialport';
import { ptyPair, type PtyPair } from '../../scripts/simulate/pty-pair.js';
import { tempDir } from './tmp.js';

export { ptyPair, type PtyPair } from '../../scripts/simulate/pty-pair.js';
export { hangupSafeBinding, openPort } from '../../src/devices/serial-binding.js';

/** One end of a pair, opened with serialport, as a test talks on it. */
export interface SimEnd {
  port: SerialPort;
  /** Writes and waits until the bytes have left (drain). */
  write(bytes: Buffer | string): Promise<void>;
  /**
   * Waits until `done` holds for the bytes received and not yet taken, then takes and
   * returns them. Fails at the deadline, or at once if the port closes.
   */
  readUntil(done: (received: Buffer) => boolean, opts?: { timeout?: number; message?: string }): Promise<Buffer>;
  /** The next `count` lines ending in `delimiter`, without it (the bytes after them stay). */
  readLines(count: number, opts?: { delimiter?: string; timeout?: number }): Promise<string[]>;
  /** Bytes received and not yet taken. */
  pending(): Buffer;
  /** Why the port closed (null while open). */
  closedBecause(): Error | null;
  close(): Promise<void>;
}

export async function openSimEnd(path: string, opts: { baudRate?: number } = {}): Promise<SimEnd> {
  const port = await openPort({ path, baudRate: opts.baudRate ?? 9600 });
  let buffered = Buffer.alloc(0);
  let closedWith: Error | null = null;
  const wake = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...wake]) w();
  };
  port.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    notify();
  });
  port.on('error', () => {}); // a 'close' follows; readUntil reports it
  port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
    closedWith = err ?? new Error('closed');
    notify();
  });

  const readUntil: SimEnd['readUntil'] = (done, o = {}) => new Promise<Buffer>((resolve, reject) => {
    const timeout = o.timeout ?? 5_000;
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      wake.delete(check);
      if (err) {
        reject(err);
        return;
      }
      const got = buffered;
      buffered = Buffer.alloc(0);
      resolve(got);
    };
    const what = (): string => `${o.message ?? 'bytes'} on ${path} (have ${JSON.stringify(buffered.toString('latin1'))})`;
    const check = (): void => {
      if (done(buffered)) finish(null);
      else if (closedWith) finish(new Error(`port closed (${closedWith.message}) while waiting for ${what()}`));
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeout} ms waiting for ${what()}`)), timeout);
    wake.add(check);
    check();
  });

  return {
    port,
    write: (bytes) => new Promise<void>((resolve, reject) => {
      port.write(bytes, (err) => {
        if (err) reject(err);
        else port.drain((e) => (e ? reject(e) : resolve()));
      });
    }),
    readUntil,
    async readLines(count, o = {}) {
      const delimiter = o.delimiter ?? '\n';
      const ends = (b: Buffer): number => b.toString('latin1').split(delimiter).length - 1;
      const got = await readUntil((b) => ends(b) >= count, { timeout: o.timeout, message: `${count} lines` });
      const parts = got.toString('latin1').split(delimiter);
      // Give back what follows the last wanted line.
      buffered = Buffer.concat([Buffer.from(parts.slice(count).join(delimiter), 'latin1'), buffered]);
      return parts.slice(0, count).map((l) => Buffer.from(l, 'latin1').toString('utf8'));
    },
    pending: () => buffered,
    closedBecause: () => closedWith,
    close: () => new Promise<void>((resolve) => {
      if (!port.isOpen) resolve();
      else port.close(() => resolve());
    }),
  };
}

/**
 * A pair in a fresh directory, and the ends the test opens on it with `open`: all closed,
 * the pair stopped and the directory removed when the test ends. Node 20 runs a
 * test's after hooks in the order they were registered: this one runs before any the test
 * registers later.
 */
export async function ptyPairFor(t: TestContext, prefix: string): Promise<{ pty: PtyPair; dir: string; open: (path: string) => Promise<SimEnd> }> {
  const tmp = tempDir(prefix);
  const pty = await ptyPair(tmp.dir);
  const ends: SimEnd[] = [];
  t.after(async () => {
    for (const e of ends) await e.close().catch(() => {});
    await pty.stop();
    tmp.cleanup();
  });
  const open = async (path: string): Promise<SimEnd> => {
    const end = await openSimEnd(path);
    ends.push(end);
    return end;
  };
  return { pty, dir: tmp.dir, open };
}
