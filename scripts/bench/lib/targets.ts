// The brokers under test, each started in its own child process on a free loopback port.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { storedEventSize, type StoredSize } from './sd-wear.js';
import { EDGEBUS_BIN, heapFlags, ROOT, shebangFlags } from './edgebus-bin.js';
import { freePort, waitForPort } from './ports.js';
import { makeTempDir, peakRssMiB, removeTempDir, stop, track, waitForLine, type Tracked } from './children.js';

export { ROOT };

export type TargetName = 'aedes' | 'floor' | 'edgebus' | 'mosquitto';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
const HERE = dirname(fileURLToPath(import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface Target {
  name: TargetName;
  pid: number;
  brokerPort: number;
  /** Prometheus endpoint, for the targets that have one. */
  metricsUrl: string | null;
  /** Reads VmHWM while the process is still alive. */
  peakRssMiB: () => number;
  stop: () => Promise<void>;
  /** edgebus only: the average stored event size, read from its store once it has stopped. */
  storedSize: () => StoredSize | null;
}

export interface TargetOptions {
  /** Where edgebus writes a V8 CPU profile on exit; null = no profiling. */
  cpuProfileDir: string | null;
  /** edgebus only: rule files (name → YAML) written to its rulesDir before it starts. */
  rules?: Readonly<Record<string, string>>;
  /** edgebus only: `store.durability` (default fsync). */
  durability?: 'fsync' | 'write';
  /** edgebus only: on stop, read the average stored event size before the data dir goes. */
  measureStoredSize?: boolean;
}

export function startTarget(name: TargetName, opts: TargetOptions): Promise<Target> {
  switch (name) {
    case 'aedes': return startAedes();
    case 'floor': return startFloor();
    case 'edgebus': return startEdgebus(opts);
    case 'mosquitto': return startMosquitto();
  }
}

function readyPorts(line: string): { brokerPort: number; httpPort?: number } | undefined {
  if (!line.startsWith('{')) return undefined;
  const rec = JSON.parse(line) as { brokerPort?: unknown; httpPort?: unknown };
  if (typeof rec.brokerPort !== 'number') return undefined;
  return { brokerPort: rec.brokerPort, httpPort: typeof rec.httpPort === 'number' ? rec.httpPort : undefined };
}

function asTarget(name: TargetName, t: Tracked, brokerPort: number, metricsUrl: string | null,
  after: () => void | Promise<void> = () => {}, storedSize: () => StoredSize | null = () => null): Target {
  const pid = t.child.pid;
  if (pid === undefined) throw new Error(`${name}: no pid`);
  return {
    name, pid, brokerPort, metricsUrl, storedSize,
    peakRssMiB: () => peakRssMiB(pid),
    stop: async () => {
      const exit = await stop(t);
      await after();
      if (exit.code !== 0 && exit.signal !== 'SIGTERM') process.stderr.write(`note: ${name} exited with code ${exit.code} signal ${exit.signal}\n${t.output()}\n`);
    },
  };
}

async function startAedes(): Promise<Target> {
  const t = track(spawn(process.execPath, [join(HERE, 'aedes-server.js')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const { brokerPort } = await waitForLine(t, readyPorts, READY_TIMEOUT_MS, 'bare Aedes');
  return asTarget('aedes', t, brokerPort, null);
}

/** Same heap flags as edgebus: the floor is measured as edgebus would run it. */
async function startFloor(): Promise<Target> {
  const dir = makeTempDir('edgebus-bench-floor-');
  const t = track(spawn(process.execPath, [...heapFlags(), join(HERE, 'floor-server.js'), join(dir, 'db')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    const { brokerPort } = await waitForLine(t, readyPorts, READY_TIMEOUT_MS, 'the floor server');
    return asTarget('floor', t, brokerPort, null, () => removeTempDir(dir));
  } catch (err) {
    await stop(t);
    removeTempDir(dir);
    throw err;
  }
}

/** A fresh data dir per start: every round begins with an empty log, like the others. */
async function startEdgebus(opts: TargetOptions): Promise<Target> {
  const dir = makeTempDir('edgebus-bench-');
  const configFile = join(dir, 'edgebus.yaml');
  mkdirSync(join(dir, 'rules'));
  for (const [name, text] of Object.entries(opts.rules ?? {})) writeFileSync(join(dir, 'rules', name), text);
  writeFileSync(configFile, stringify({
    gatewayId: 'bench-gw',
    dataDir: join(dir, 'data'),
    rulesDir: join(dir, 'rules'),
    devicesDir: join(dir, 'devices'),
    broker: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    store: { durability: opts.durability ?? 'fsync' },
    // info: the ready line (with the ports) is logged at that level.
    log: { level: 'info', format: 'json' },
  }));
  const profile = opts.cpuProfileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`];
  const nodeArgs = [...shebangFlags(), ...profile];
  // No EDGEBUS_* from the caller's environment: they would override the config above. The
  // heap mode is the process's, not the config's: EDGEBUS_HEAP=fast compares the trade.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEBUS_') || k === 'EDGEBUS_HEAP'));
  const t = track(spawn(process.execPath, [...nodeArgs, EDGEBUS_BIN, 'start', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    const ports = await waitForLine(t, readyPorts, READY_TIMEOUT_MS, 'the edgebus ready line');
    if (ports.httpPort === undefined) throw new Error('edgebus ready line has no httpPort');
    let size: StoredSize | null = null;
    const after = async (): Promise<void> => {
      try {
        if (opts.measureStoredSize) size = await storedEventSize(join(dir, 'data'));
      } finally {
        removeTempDir(dir);
      }
    };
    return asTarget('edgebus', t, ports.brokerPort, `http://127.0.0.1:${ports.httpPort}/metrics`, after, () => size);
  } catch (err) {
    await stop(t);
    removeTempDir(dir);
    throw err;
  }
}

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_BIN);
}

async function startMosquitto(): Promise<Target> {
  const dir = makeTempDir('edgebus-bench-mosq-');
  // mosquitto cannot report a port it chose, so take a free one and hand it over.
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const t = track(spawn(MOSQUITTO_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await waitForPort(port, t, { timeoutMs: READY_TIMEOUT_MS, everyMs: 50, name: 'mosquitto' });
    return asTarget('mosquitto', t, port, null, () => removeTempDir(dir));
  } catch (err) {
    await stop(t);
    removeTempDir(dir);
    throw err;
  }
}

