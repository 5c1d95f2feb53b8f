// The arm smoke run (scripts/arm/check.sh runs it once per CPU): with the daemon of a
// production install for that CPU running under qemu-user, and MQTT.js on the host side,
//   1. a too-old glibc is refused with the platform check's message, exit 2;
//   2. native-check.js finds every native module on its own prebuild (cbor-x not on JS);
//   3. 2,000 QoS 1 readings are all PUBACKed, the daemon stops cleanly, starts again, and
//      /api/events gives back all 2,000 in publish order.
// It prints the figures (start time, ingest time and rate, RSS of the emulated process) and
// exits 1 on any miss.
//
//   node dist/scripts/arm/smoke.js --arch arm64 --app DIR -- qemu-aarch64-static -L /usr/aarch64-linux-gnu NODE
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { GLIBC_NEEDS } from '../../src/util/platform.js';

const READINGS = 2000;
const IN_FLIGHT = 64;
const SOURCE = 'arm-smoke';
/** Generous for an emulated Node on a busy 2-core machine; the run still ends by itself. */
const STEP_TIMEOUT_MS = 240_000;
/** A glibc just too old for each arch, and what its refusal must mention. */
const TOO_OLD: Record<string, { glibc: string; says: RegExp }> = {
  x64: { glibc: '2.27', says: /^edgebus needs glibc >= 2\.28 on x86_64; this system has 2\.27: upgrade/ },
  arm64: { glibc: '2.27', says: /^edgebus needs glibc >= 2\.28 on arm64; this system has 2\.27: upgrade/ },
  arm: { glibc: '2.31', says: /^edgebus needs glibc >= 2\.34 on armv7 \(Raspberry Pi OS Bookworm\); this system has 2\.31 \(Debian\/Raspberry Pi OS Bullseye.*\): upgrade to Raspberry Pi OS Bookworm.*or use the 64-bit OS/ },
};

class SmokeFailure extends Error {}

function fail(message: string): never {
  throw new SmokeFailure(message);
}

const { values, positionals: runner } = parseArgs({
  options: { arch: { type: 'string' }, app: { type: 'string' } },
  allowPositionals: true,
});
const arch = values.arch ?? fail('--arch is required (x64, arm64 or arm)');
const app = values.app ?? fail('--app is required: the production install to run');
if (runner.length === 0) fail('the command that runs the target Node goes after --');
const tooOld = TOO_OLD[arch] ?? fail(`no smoke expectations for arch ${arch}`);
if (GLIBC_NEEDS[arch] === undefined) fail(`the platform check has no minimum for ${arch}`);
const label = `${arch}${runner[0]?.includes('qemu') ? ' (qemu)' : ' (native)'}`;

function say(line: string): void {
  process.stdout.write(`arm smoke ${label}: ${line}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs the target Node with `args` to its end (bounded by STEP_TIMEOUT_MS). */
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(runner[0]!, [...runner.slice(1), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Daemon { child: ChildProcess; brokerUrl: string; httpUrl: string; exited: Promise<number | null>; output: () => string; startMs: number }

/** Starts `edgebus start` and resolves on its ready line (which carries the bound ports). */
function startDaemon(config: string): Promise<Daemon> {
  const t0 = performance.now();
  // The flag bin/edgebus.js's shebang passes: the daemon is measured as it runs in service.
  const child = spawn(runner[0]!, [...runner.slice(1), '--max-semi-space-size=32', join(app, 'bin', 'edgebus.js'), 'start', '--config', config], {
    env: { ...process.env, EDGEBUS_LOG_LEVEL: 'info', EDGEBUS_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SmokeFailure(`no ready line within ${seconds(STEP_TIMEOUT_MS)}:\n${out}`));
    }, STEP_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const rec = JSON.parse(line) as { brokerPort?: number; httpPort?: number };
        if (rec.brokerPort === undefined || rec.httpPort === undefined) continue;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (more: Buffer) => (out += more.toString()));
        resolve({ child, exited, output: () => out, brokerUrl: `mqtt://127.0.0.1:${rec.brokerPort}`, httpUrl: `http://127.0.0.1:${rec.httpPort}`, startMs: performance.now() - t0 });
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new SmokeFailure(`the daemon exited (${code}) before it was ready:\n${out}`));
    });
  });
}

/** SIGTERM, and the graceful stop SPEC §1 promises: exit 0. */
async function stopDaemon(d: Daemon): Promise<void> {
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), STEP_TIMEOUT_MS);
  const code = await d.exited;
  clearTimeout(timer);
  if (code !== 0) fail(`the daemon exited ${code} on SIGTERM:\n${d.output()}`);
}

/** Resident and peak resident memory of a process, in MB (the emulator's own share included under qemu). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** Publishes READINGS QoS 1 readings, IN_FLIGHT at a time; resolves when every one is PUBACKed. */
async function publishAll(url: string): Promise<number> {
  const client = await mqtt.connectAsync(url, { clientId: `arm-smoke-${process.pid}`, reconnectPeriod: 0, connectTimeout: 30_000 });
  const t0 = performance.now();
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < READINGS) {
        const i = next++;
        await client.publishAsync(`sensors/${SOURCE}/temperature`, JSON.stringify({ value: i, unit: 'C', seq: i + 1 }), { qos: 1 });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    return performance.now() - t0;
  } finally {
    await client.endAsync();
  }
}

interface StoredEvent { seq: number; source: string; type: string; payload: { value?: number } }

/** Every stored reading of the smoke's source, from /api/events (log order). */
async function readBack(httpUrl: string): Promise<StoredEvent[]> {
  const res = await fetch(`${httpUrl}/api/events?source=${SOURCE}&type=DeviceData`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  if (res.status !== 200) fail(`/api/events answered ${res.status}: ${await res.text()}`);
  return (await res.text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as StoredEvent);
}

function checkOrder(events: StoredEvent[]): void {
  if (events.length !== READINGS) fail(`read back ${events.length} readings, expected ${READINGS}`);
  events.forEach((e, i) => {
    if (e.payload.value !== i) fail(`reading ${i} read back as value ${String(e.payload.value)}: out of order or lost`);
    if (i > 0 && e.seq <= events[i - 1]!.seq) fail(`seq went from ${events[i - 1]!.seq} to ${e.seq} at reading ${i}`);
  });
}

async function smoke(): Promise<void> {
  const t0 = performance.now();

  const refused = await run([join(app, 'bin', 'edgebus.js'), 'start'], { EDGEBUS_TEST_GLIBC: tooOld.glibc });
  if (refused.code !== 2 || !tooOld.says.test(refused.stderr) || /\n\s+at /.test(refused.stderr)) {
    fail(`glibc ${tooOld.glibc} was not refused as expected (exit ${refused.code}):\n${refused.stdout}${refused.stderr}`);
  }
  say(`glibc ${tooOld.glibc} refused, exit 2: ${refused.stderr.trim()}`);

  const native = await run([join(app, 'dist', 'scripts', 'arm', 'native-check.js')]);
  const facts = JSON.parse(native.stdout.trim().split('\n').at(-1) ?? '{}') as { node?: string; glibc?: string; natives?: string[]; failures?: string[] };
  if (native.code !== 0 || !facts.natives) fail(`native modules: ${facts.failures?.join('; ') ?? `exit ${native.code}: ${native.stderr}`}`);
  say(`node ${facts.node}, glibc ${facts.glibc}; native prebuilds loaded, cbor-x on cbor-extract: ${facts.natives.join(', ')}`);

  const dir = mkdtempSync(join(tmpdir(), `edgebus-arm-${arch}-`));
  try {
    const config = join(dir, 'edgebus.yaml');
    // JSON is YAML: the config needs no YAML writer on this side.
    writeFileSync(config, JSON.stringify({
      gatewayId: `arm-smoke-${arch}`,
      dataDir: join(dir, 'data'),
      rulesDir: join(dir, 'rules'),
      devicesDir: join(dir, 'devices'),
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      store: { minFree: 0 },
      schedules: { heartbeat: '0 0 1 1 *' },
    }));

    const first = await startDaemon(config);
    const ingestMs = await publishAll(first.brokerUrl);
    const mem = memory(first.child.pid!);
    await stopDaemon(first);
    say(`start ${seconds(first.startMs)}; ${READINGS} QoS 1 readings PUBACKed in ${seconds(ingestMs)} (${Math.round(READINGS / (ingestMs / 1000))}/s); RSS ${mem.rss} MB, peak ${mem.peak} MB`);

    const second = await startDaemon(config);
    const t1 = performance.now();
    const events = await readBack(second.httpUrl);
    const readMs = performance.now() - t1;
    await stopDaemon(second);
    checkOrder(events);
    say(`restart ${seconds(second.startMs)}; all ${READINGS} read back in order in ${seconds(readMs)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  say(`PASS in ${seconds(performance.now() - t0)}`);
}

try {
  await smoke();
} catch (err) {
  process.stdout.write(`arm smoke ${label}: FAIL: ${err instanceof SmokeFailure ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
