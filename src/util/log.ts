// pino: JSON lines when not a TTY (journald, files), pretty on a TTY.
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty costs ~10 MB of RSS: loaded only when a TTY (or the config) asks for it. */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** `log` of the config: how much, and pretty on a TTY (`auto`) or JSON lines. */
export interface LogOptions {
  level: LogLevel;
  format: (typeof LOG_FORMATS)[number];
}

export function createLogger(opts: LogOptions, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Logger {
  const usePretty = opts.format === 'pretty' || (opts.format === 'auto' && stream.isTTY === true);
  const base = { level: opts.level, base: { name: 'edgebus' }, redact: { paths: ['*.password', '*.token', '*.passwordHash', '*.key'], censor: '[redacted]' } };
  if (usePretty) return pino(base, loadPretty()({ destination: stream, colorize: stream.isTTY === true, ignore: 'pid,hostname,name', sync: true }));
  return pino(base, pino.destination({ dest: stream === process.stderr ? 2 : 1, sync: true }));
}
