// A real pino logger whose lines a test can read, for what a component says.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger, LogLevel } from '../../src/util/log.js';

export function memoryLogger(level: LogLevel = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}
