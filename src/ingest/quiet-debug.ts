// mqtt-packet, the embedded broker's parser and writer, calls its `debug` loggers a dozen
// times per packet. With their namespaces off (DEBUG unset: every production run) each call
// still builds a rest-arguments array and runs the `enabled` getter: ~5 % of the daemon's
// CPU under load (PERF-NOTES measured 6.6 % of Aedes' profile). From here on, a logger made
// for a namespace that DEBUG leaves off is a plain empty function; one it turns on is the
// real thing, so `DEBUG=mqtt-packet:* edgebus start` logs as before. What is lost: turning
// a namespace on at run time (debug.enable) no longer reaches the loggers made while it was
// off. Nothing in edgebus does that.
//
// It must run before mqtt-packet is loaded: broker.ts imports it ahead of aedes. Loggers
// made before (serialport's, modbus-serial's) keep what they have.
import { createRequire } from 'node:module';

interface Logger {
  (...args: unknown[]): void;
  namespace: string;
  enabled: boolean;
  extend(namespace: string, delimiter?: string): Logger;
}

interface CreateDebug {
  (namespace: string): Logger;
  enabled(namespace: string): boolean;
}

const QUIETED = Symbol.for('edgebus.quietDebug');

function off(namespace: string): Logger {
  const logger = (() => {}) as unknown as Logger;
  logger.namespace = namespace;
  logger.enabled = false;
  logger.extend = (sub, delimiter = ':') => off(namespace + delimiter + sub);
  return logger;
}

/**
 * Replaces, in the module cache, the `debug` that mqtt-packet resolves to. Returns false
 * when it cannot (mqtt-packet or debug not where they were): the broker then only runs slower.
 */
export function quietDebug(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const fromPacket = createRequire(require.resolve('mqtt-packet'));
    const path = fromPacket.resolve('debug');
    fromPacket('debug');
    const cached = fromPacket.cache[path];
    if (cached === undefined) return false;
    const real = cached.exports as CreateDebug & { [QUIETED]?: true };
    if (real[QUIETED]) return true;
    const quiet = ((namespace: string) => (real.enabled(namespace) ? real(namespace) : off(namespace))) as CreateDebug & { [QUIETED]?: true };
    // enable, disable, enabled, formatters…: everything else is the real module's.
    Object.setPrototypeOf(quiet, real);
    quiet[QUIETED] = true;
    cached.exports = quiet;
    return true;
  } catch {
    return false;
  }
}

quietDebug();
