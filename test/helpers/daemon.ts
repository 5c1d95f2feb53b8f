// Running a real daemon for a test: in this process (fast, and its bus can be observed)
// or as a child process (for SIGTERM and kill -9 tests). Both listen on free ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/util/log.js';
import { BIN, ROOT } from './paths.js';
import { waitFor } from './wait.js';


export type ConfigYaml = Record<string, unknown>;

/** Writes `edgebus.yaml` in `dir` with free ports and the data dir inside `dir`. */
export function writeConfig(dir: string, overrides: ConfigYaml = {}): string {
  const file = join(dir, 'edgebus.yaml');
  const base: ConfigYaml = {
    gatewayId: 'test-gw',
    dataDir: join(dir, 'data'),
    rulesDir: join(dir, 'rules'),
    devicesDir: join(dir, 'devices'),
    log: { level: 'warn', format: 'json' },
    // The heartbeat appends an event every minute: a test that compares two reads of the
    // log must not see one land between them. Tests of the heartbeat set their own schedule.
    schedules: { heartbeat: '0 0 1 1 *' },
  };
  const merged: ConfigYaml = { ...base, ...overrides };
  // A test machine's disk may be nearly full (a few hundred MB free has been seen): only the
  // tests of store.minFree evict for free space.
  merged.store = { minFree: 0, ...((overrides.store as object | undefined) ?? {}) };
  for (const key of ['broker', 'http'] as const) {
    merged[key] = { port: 0, ...((overrides[key] as object | undefined) ?? {}) };
  }
  writeFileSync(file, stringify(merged));
  return file;
}

export interface RunningDaemon {
  daemon: Daemon;
  config: Config;
  brokerUrl: string;
  httpUrl: string;
  stop: () => Promise<void>;
}

export async function startDaemon(dir: string, overrides: ConfigYaml = {}): Promise<RunningDaemon> {
  const file = writeConfig(dir, overrides);
  const { config } = loadConfig({ file, env: {} });
  const daemon = new Daemon(config, createLogger({ level: process.env.EDGEBUS_TEST_LOG === undefined ? 'silent' : (process.env.EDGEBUS_TEST_LOG as 'debug'), format: 'json' }));
  const { broker, http } = await daemon.start();
  return {
    daemon, config,
    brokerUrl: `mqtt://127.0.0.1:${broker.port}`,
    httpUrl: `http://127.0.0.1:${http.port}`,
    stop: () => daemon.stop(),
  };
}

export interface ChildDaemon {
  child: ChildProcess;
  brokerUrl: string;
  httpUrl: string;
  /** Everything the child wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Soft RLIMIT_FSIZE in bytes (util-linux `prlimit`): writes past it fail with EFBIG until it is raised. */
  fileSizeLimit?: number;
}

/** Spawns `edgebus start --config FILE` and waits for its ready line (log level info). */
export async function spawnDaemon(configFile: string, env: NodeJS.ProcessEnv = {}, opts: SpawnOptions = {}): Promise<ChildDaemon> {
  const argv = [process.execPath, BIN, 'start', '--config', configFile];
  if (opts.fileSizeLimit !== undefined) argv.unshift('prlimit', `--fsize=${opts.fileSizeLimit}:`);
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env, EDGEBUS_LOG_LEVEL: 'info', EDGEBUS_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const ready = await waitFor(() => {
    if (gone) throw new Error(`daemon exited before it was ready:\n${out}`);
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { brokerPort?: number; httpPort?: number };
      if (rec.brokerPort !== undefined && rec.httpPort !== undefined) return rec as { brokerPort: number; httpPort: number };
    }
    return undefined;
  }, { timeout: 20_000, message: 'the daemon ready line' });
  return {
    child,
    brokerUrl: `mqtt://127.0.0.1:${ready.brokerPort}`,
    httpUrl: `http://127.0.0.1:${ready.httpPort}`,
    output: () => out,
    exited,
  };
}

/** SIGKILLs a child daemon still running and waits for it to go (a test's tear-down); one that has exited is left as it is. */
export async function killDaemon(d: ChildDaemon | null | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGKILL');
  await d.exited;
}

/** Runs the CLI to completion: its exit code and output. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
