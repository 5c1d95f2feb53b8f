// pino: JSON lines when not a TTY (journald, files), pretty on a TTY.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from '../config/types.js';

export type { Logger };

export function createLogger(opts: Config['log'], stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Logger {
  const usePretty = opts.format === 'pretty' || (opts.format === 'auto' && stream.isTTY === true);
  const base = { level: opts.level, base: { name: 'edgebus' }, redact: { paths: ['*.password', '*.token', '*.passwordHash', '*.key'], censor: '[redacted]' } };
  if (usePretty) return pino(base, pretty({ destination: stream, colorize: stream.isTTY === true, ignore: 'pid,hostname,name', sync: true }));
  return pino(base, pino.destination({ dest: stream === process.stderr ? 2 : 1, sync: true }));
}
