// The drain benchmark's processes: edgebus started through bin/edgebus.js with its upstream
// pointed at a loopback port where Debian's mosquitto is started only when the link is to
// return, and the readings taken of the daemon meanwhile (its backlog from /metrics, its
// RSS from /proc, the moment it logs the link up).
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { makeTempDir, removeTempDir, stop, track, waitForLine } from './children.js';
import { EDGEBUS_BIN, shebangFlags } from './edgebus-bin.js';
import { waitForPort } from './ports.js';
import { MOSQUITTO_BIN } from './targets.js';

const READY_TIMEOUT_MS = 20_000;
export const GATEWAY_ID = 'bench-gw';
export const EVENTS_TOPIC = `edgebus/${GATEWAY_ID}/events`;

export interface DrainDaemon {
  pid: number;
  brokerPort: number;
  dataDir: string;
  /** performance.now() of the daemon's "upstream connected" log line; null until then. */
  linkUpLoggedAt: () => number | null;
  backlog: () => Promise<number>;
  /** The daemon's heap figures from /metrics (prom-client's process gauges), in MiB. */
  heap: () => Promise<HeapFigures>;
  /** SIGTERM and wait: the data dir stays for the scan ceiling. */
  stop: () => Promise<void>;
  /** Removes the temp dir (data dir included). */
  remove: () => void;
}

export interface DaemonSettings {
  upstreamPort: number;
  rules: Readonly<Record<string, string>>;
  inflight: number | null;
  maxEvents: number | null;
  cpuProfileDir: string | null;
}

function readyPorts(line: string): { brokerPort: number; httpPort: number } | undefined {
  if (!line.startsWith('{')) return undefined;
  const rec = JSON.parse(line) as { brokerPort?: unknown; httpPort?: unknown };
  if (typeof rec.brokerPort !== 'number' || typeof rec.httpPort !== 'number') return undefined;
  return { brokerPort: rec.brokerPort, httpPort: rec.httpPort };
}

export async function startDaemon(s: DaemonSettings): Promise<DrainDaemon> {
  const dir = makeTempDir('edgebus-bench-drain-');
  const configFile = join(dir, 'edgebus.yaml');
  mkdirSync(join(dir, 'rules'));
  for (const [name, text] of Object.entries(s.rules)) writeFileSync(join(dir, 'rules', name), text);
  const batch: Record<string, number> = {};
  if (s.maxEvents !== null) batch.maxEvents = s.maxEvents;
  writeFileSync(configFile, stringify({
    gatewayId: GATEWAY_ID,
    dataDir: join(dir, 'data'),
    rulesDir: join(dir, 'rules'),
    devicesDir: join(dir, 'devices'),
    broker: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    upstream: {
      url: `mqtt://127.0.0.1:${s.upstreamPort}`,
      // Retries a few times a second: the link's return is noticed within 100 ms, as with a
      // broker that comes back while the gateway's backoff is still short.
      retry: { initialDelay: '50ms', maxDelay: '100ms', jitter: false },
      batch,
      ...(s.inflight !== null ? { inflight: s.inflight } : {}),
    },
    log: { level: 'info', format: 'json' },
  }));
  const profile = s.cpuProfileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${s.cpuProfileDir}`];
  // The config file is the daemon's whole configuration, but for the heap mode (EDGEBUS_HEAP),
  // which is the trade the drain's CPU and RSS hinge on.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEBUS_') || k === 'EDGEBUS_HEAP'));
  // For looking into the daemon (`--trace-gc`, say): extra node flags, and a file its stdout is copied to.
  const extra = (process.env.BENCH_DAEMON_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const t = track(spawn(process.execPath, [...shebangFlags(), ...profile, ...extra, EDGEBUS_BIN, 'start', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const copyTo = process.env.BENCH_DAEMON_STDOUT;
  if (copyTo) t.child.stdout?.on('data', (d: Buffer) => appendFileSync(copyTo, d));
  let linkUpAt: number | null = null;
  t.child.stdout?.on('data', (d: Buffer) => {
    if (linkUpAt === null && d.includes('"msg":"upstream connected"')) linkUpAt = performance.now();
  });
  try {
    const ports = await waitForLine(t, readyPorts, READY_TIMEOUT_MS, 'the edgebus ready line');
    const pid = t.child.pid as number;
    const metrics = `http://127.0.0.1:${ports.httpPort}/metrics`;
    return {
      pid, brokerPort: ports.brokerPort, dataDir: join(dir, 'data'),
      linkUpLoggedAt: () => linkUpAt,
      backlog: async () => gauge(await scrape(metrics), 'edgebus_upstream_backlog_events'),
      heap: async () => heapFigures(await scrape(metrics)),
      stop: async () => {
        const exit = await stop(t);
        if (exit.code !== 0 && exit.signal !== 'SIGTERM') process.stderr.write(`note: edgebus exited with code ${exit.code} signal ${exit.signal}\n${t.output()}\n`);
      },
      remove: () => removeTempDir(dir),
    };
  } catch (err) {
    await stop(t);
    removeTempDir(dir);
    throw err;
  }
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`/metrics: no ${name}`);
  return Number(m[1]);
}

export interface HeapFigures {
  /** V8's heap: committed, and in use by live and not yet collected objects. */
  heapTotal: number;
  heapUsed: number;
  /** Off-heap memory V8 is told of: Buffers' bytes, among them LevelDB's values. */
  external: number;
  oldSpaceUsed: number;
  newSpaceUsed: number;
}

const MIB = 1024 * 1024;

function heapFigures(text: string): HeapFigures {
  return {
    heapTotal: gauge(text, 'nodejs_heap_size_total_bytes') / MIB,
    heapUsed: gauge(text, 'nodejs_heap_size_used_bytes') / MIB,
    external: gauge(text, 'nodejs_external_memory_bytes') / MIB,
    oldSpaceUsed: gauge(text, 'nodejs_heap_space_size_used_bytes{space="old"}') / MIB,
    newSpaceUsed: gauge(text, 'nodejs_heap_space_size_used_bytes{space="new"}') / MIB,
  };
}

export interface Mosquitto {
  stop: () => Promise<void>;
}

/** Debian's mosquitto on `port`; resolves once it accepts connections. */
export async function startMosquitto(port: number): Promise<Mosquitto> {
  const dir = makeTempDir('edgebus-bench-drain-mosq-');
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const t = track(spawn(MOSQUITTO_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const done = async (): Promise<void> => {
    await stop(t);
    removeTempDir(dir);
  };
  try {
    // Every 2 ms: the moment it listens is the link's return, and the figures count from it.
    await waitForPort(port, t, { timeoutMs: READY_TIMEOUT_MS, everyMs: 2, name: 'mosquitto' });
    return { stop: done };
  } catch (err) {
    await done();
    throw err;
  }
}

export interface Rss {
  /** VmRSS. */
  total: number;
  /** RssAnon: the heaps (V8's and native), without the LevelDB table files it maps. */
  anon: number;
  /** RssFile: mapped files resident, LevelDB's .ldb tables among them (read through mmap). */
  file: number;
}

/** Resident memory of a live process, in MiB. */
export function rssMiB(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]) / 1024;
  };
  return { total: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/**
 * Resident MiB of the daemon's mappings of LevelDB table files (`*.ldb`): LevelDB reads its
 * tables through mmap (up to 1000 of them, on 64-bit builds only), and the pages a drain
 * reads stay resident, counted in RssFile, until the kernel reclaims them or the table is
 * closed. The rest of RssFile is node's and the native modules' code.
 */
export function tableMappedMiB(pid: number): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  let kb = 0;
  let inTable = false;
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inTable = line.endsWith('.ldb');
    else if (inTable && line.startsWith('Rss:')) kb += Number(/(\d+) kB/.exec(line)?.[1] ?? 0);
  }
  return kb / 1024;
}

/** Clock ticks per second of /proc/<pid>/stat's times: 100 on every Linux Node runs on. */
const CLK_TCK = 100;

/**
 * CPU seconds (user + system) a live process has used so far, every thread included
 * (LevelDB's reads on libuv's pool too). Differences of two readings give the CPU an
 * interval cost: far steadier than wall time on a machine shared with other work.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields from after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
