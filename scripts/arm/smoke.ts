// The arm smoke run (scripts/arm/check.sh runs it once per CPU): with the daemon of a
// production install for that CPU running under qemu-user, and MQTT.js on the host side,
//   1. a too-old glibc is refused with the platform check's message, exit 2;
//   2. native-check.js finds every native module on its own prebuild (cbor-x not on JS);
//   3. 2,000 QoS 1 readings are all PUBACKed, the daemon stops cleanly, starts again, and
//      /api/events gives back all 2,000 in publish order.
// It prints the figures (start time, ingest time and rate, peak RSS of the emulated process) and
// exits 1 on any miss.
//
//   node dist/scripts/arm/smoke.js --arch arm64 --app DIR -- qemu-aarch64-static -L /usr/aarch64-linux-gnu NODE
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { GLIBC_NEEDS } from '../../src/util/platform.js';
import { cleanupAll, installCleanupHandlers, makeTempDir, peakRssMiB, removeTempDir, track, waitForLine, type Tracked } from '../bench/lib/children.js';

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

interface Daemon extends Tracked { brokerUrl: string; httpUrl: string; startMs: number }

/** The ports in the daemon's ready line (JSON log), which it binds from port 0. */
function readyPorts(line: string): { brokerPort: number; httpPort: number } | undefined {
  if (!line.startsWith('{')) return undefined;
  const rec = JSON.parse(line) as { brokerPort?: unknown; httpPort?: unknown };
  return typeof rec.brokerPort === 'number' && typeof rec.httpPort === 'number' ? { brokerPort: rec.brokerPort, httpPort: rec.httpPort } : undefined;
}

/** Starts `edgebus start` and resolves on its ready line. */
async function startDaemon(config: string): Promise<Daemon> {
  const t0 = performance.now();
  // The flag bin/edgebus.js's shebang passes: the daemon is measured as it runs in service.
  const t = track(spawn(runner[0]!, [...runner.slice(1), '--max-semi-space-size=32', join(app, 'bin', 'edgebus.js'), 'start', '--config', config], {
    env: { ...process.env, EDGEBUS_LOG_LEVEL: 'info', EDGEBUS_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const ports = await waitForLine(t, readyPorts, STEP_TIMEOUT_MS, 'the daemon ready line');
  return { ...t, brokerUrl: `mqtt://127.0.0.1:${ports.brokerPort}`, httpUrl: `http://127.0.0.1:${ports.httpPort}`, startMs: performance.now() - t0 };
}

/** SIGTERM, and the graceful stop SPEC §1 promises: exit 0 (the bench's stop() allows less time than qemu may need). */
async function stopDaemon(d: Daemon): Promise<void> {
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), STEP_TIMEOUT_MS);
  const exit = await d.exited;
  clearTimeout(timer);
  if (exit.code !== 0) fail(`the daemon exited ${exit.code ?? exit.signal} on SIGTERM:\n${d.output()}`);
}

/** `promise`, or a SmokeFailure after STEP_TIMEOUT_MS: a daemon that dies mid-way must not leave CI waiting. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SmokeFailure(`${what}: no end within ${seconds(STEP_TIMEOUT_MS)}`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
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

  const dir = makeTempDir(`edgebus-arm-${arch}-`);
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
    const ingestMs = await within(publishAll(first.brokerUrl), `publishing ${READINGS} readings`);
    const peak = Math.round(peakRssMiB(first.child.pid!));
    await stopDaemon(first);
    say(`start ${seconds(first.startMs)}; ${READINGS} QoS 1 readings PUBACKed in ${seconds(ingestMs)} (${Math.round(READINGS / (ingestMs / 1000))}/s); peak RSS ${peak} MiB`);

    const second = await startDaemon(config);
    const t1 = performance.now();
    const events = await readBack(second.httpUrl);
    const readMs = performance.now() - t1;
    await stopDaemon(second);
    checkOrder(events);
    say(`restart ${seconds(second.startMs)}; all ${READINGS} read back in order in ${seconds(readMs)}`);
  } finally {
    removeTempDir(dir);
  }
  say(`PASS in ${seconds(performance.now() - t0)}`);
}

installCleanupHandlers();
try {
  await smoke();
} catch (err) {
  process.stdout.write(`arm smoke ${label}: FAIL: ${err instanceof SmokeFailure ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  // A failure half-way leaves a daemon running, whose pipes would keep this process (and CI) alive.
  await cleanupAll();
}
