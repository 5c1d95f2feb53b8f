// One edgebus daemon for the memory and start-up benchmarks: started through bin/edgebus.js
// with the node flags of its first line (as `npm start` and systemd run it), on a data dir
// the caller owns, so that a later start finds what an earlier one stored.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { stop, track, waitForLine, type Tracked } from './children.js';
import { EDGEBUS_BIN, ROOT, shebangFlags } from './edgebus-bin.js';

const READY_TIMEOUT_MS = 120_000;

export interface DaemonSpec {
  dataDir: string;
  rulesDir: string;
  devicesDir: string;
  /** upstream.url; null: store-only. */
  upstreamUrl?: string | null;
  /** A fixed broker port (the start-up bench connects before the ready line); default: any free one. */
  brokerPort?: number;
  /** Extra environment (EDGEBUS_* config overrides, NODE_OPTIONS…). */
  env?: Record<string, string>;
}

export interface DaemonProc {
  pid: number;
  brokerPort: number;
  httpPort: number;
  /** performance.now() at spawn and at the ready line. */
  spawnedAt: number;
  readyAt: number;
  /** Resident set now and its peak (VmHWM), MiB. */
  rssMiB: () => number;
  peakRssMiB: () => number;
  stop: () => Promise<void>;
  output: () => string;
  /** Resolves with the first log line (its `msg`) matching `re` from now on. */
  logLine: (re: RegExp, timeoutMs: number) => Promise<string>;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

export async function startDaemon(spec: DaemonSpec): Promise<DaemonProc> {
  // Only what this spec says: EDGEBUS_* from the caller's shell would change the config.
  const env: Record<string, string> = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('EDGEBUS_') && e[1] !== undefined));
  Object.assign(env, {
    EDGEBUS_DATA_DIR: spec.dataDir, EDGEBUS_RULES_DIR: spec.rulesDir, EDGEBUS_DEVICES_DIR: spec.devicesDir,
    EDGEBUS_BROKER_HOST: '127.0.0.1', EDGEBUS_BROKER_PORT: String(spec.brokerPort ?? 0), EDGEBUS_HTTP_PORT: '0',
    EDGEBUS_LOG_FORMAT: 'json', EDGEBUS_LOG_LEVEL: 'info', EDGEBUS_GATEWAY_ID: 'bench-gw',
    // The benchmarks' publishers are faster than a device: no per-client cap.
    EDGEBUS_BROKER_LIMITS_PUBLISH_RATE: '0',
    ...(spec.upstreamUrl ? { EDGEBUS_UPSTREAM_URL: spec.upstreamUrl } : {}),
    ...spec.env,
  });
  const spawnedAt = performance.now();
  const t: Tracked = track(spawn(process.execPath, [...shebangFlags(), EDGEBUS_BIN, 'start'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  const pid = t.child.pid;
  if (pid === undefined) throw new Error('edgebus: no pid');
  try {
    const ports = await waitForLine(t, (line) => {
      if (!line.startsWith('{')) return undefined;
      const rec = JSON.parse(line) as { brokerPort?: unknown; httpPort?: unknown };
      return typeof rec.brokerPort === 'number' && typeof rec.httpPort === 'number' ? { broker: rec.brokerPort, http: rec.httpPort } : undefined;
    }, READY_TIMEOUT_MS, 'the edgebus ready line');
    const readyAt = performance.now();
    return {
      pid, brokerPort: ports.broker, httpPort: ports.http, spawnedAt, readyAt,
      rssMiB: () => statusKiB(pid, 'VmRSS') / 1024,
      peakRssMiB: () => statusKiB(pid, 'VmHWM') / 1024,
      stop: async () => {
        const exit = await stop(t);
        if (exit.code !== 0 && exit.signal !== 'SIGTERM') throw new Error(`edgebus exited with code ${exit.code} signal ${exit.signal}:\n${t.output()}`);
      },
      output: t.output,
      logLine: (re, timeoutMs) => {
        const match = (line: string): string | undefined => {
          if (!line.startsWith('{')) return undefined;
          const msg = (JSON.parse(line) as { msg?: unknown }).msg;
          return typeof msg === 'string' && re.test(msg) ? msg : undefined;
        };
        // Already said (the output's tail is kept): no need to wait for it again.
        for (const line of t.output().split('\n')) {
          try {
            const seen = match(line);
            if (seen !== undefined) return Promise.resolve(seen);
          } catch { /* the tail's first line may be cut */ }
        }
        return waitForLine(t, match, timeoutMs, `a log line matching ${re}`);
      },
    };
  } catch (err) {
    await stop(t);
    throw err;
  }
}
