// A stand-in for the cloud broker: Debian's mosquitto on a free loopback port (never the
// system service's 1883), stoppable and restartable on the same port for outage tests.
// Without mosquitto (a developer's machine) an in-process Aedes takes its place; CI must
// have the real one, since only mosquitto speaks MQTT 5 (content type, PUBACK reason codes).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

export interface UpstreamBroker {
  kind: 'mosquitto' | 'aedes';
  host: '127.0.0.1';
  port: number;
  /** mqtt:// or mqtts:// */
  url: string;
  stop(): Promise<void>;
  /** Restarts on the same port after stop(). Retained messages do not survive (no persistence). */
  start(): Promise<void>;
  /** What the broker logged since its last start (mosquitto only), for failure messages. */
  output(): string;
}

export interface UpstreamBrokerOptions {
  /** mosquitto.conf lines; ignored by the Aedes stand-in */
  extraConfig?: string[];
  tls?: { cert: string; key: string; ca?: string; requireCertificate?: boolean };
}

/** EDGEBUS_TEST_MOSQUITTO=/nonexistent tries the Aedes stand-in on a machine that has mosquitto. */
const MOSQUITTO = process.env.EDGEBUS_TEST_MOSQUITTO || '/usr/sbin/mosquitto';
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;

let announcedAedes = false;

export async function startUpstreamBroker(opts: UpstreamBrokerOptions = {}): Promise<UpstreamBroker> {
  const port = await freePort(HOST);
  const url = `${opts.tls ? 'mqtts' : 'mqtt'}://${HOST}:${port}`;
  let impl: Impl;
  if (existsSync(MOSQUITTO)) {
    impl = new Mosquitto(port, opts);
  } else {
    if (process.env.CI) throw new Error(`${MOSQUITTO} is not installed: .ci/run must install the mosquitto package`);
    if (!announcedAedes) {
      announcedAedes = true;
      process.stderr.write('upstream broker: Aedes stand-in (mosquitto not installed)\n');
    }
    impl = new AedesStandIn(port, opts);
  }
  await impl.start();
  return { kind: impl.kind, host: HOST, port, url, stop: () => impl.stop(), start: () => impl.start(), output: () => impl.output() };
}

interface Impl {
  readonly kind: UpstreamBroker['kind'];
  start(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

// A test that dies mid-way must not leave a broker behind. The config stays until the
// process exits, since a stopped broker may be started again.
const children = new Set<ChildProcess>();
const confDirs: (() => void)[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const cleanup of confDirs) cleanup();
});

class Mosquitto implements Impl {
  readonly kind = 'mosquitto';
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private captured = '';
  private readonly confFile: string;

  constructor(private readonly port: number, opts: UpstreamBrokerOptions) {
    const { dir, cleanup } = tempDir('edgebus-mosquitto-');
    confDirs.push(cleanup);
    this.confFile = join(dir, 'mosquitto.conf');
    const lines = [
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type all',
      'connection_messages true',
    ];
    // As root, mosquitto would drop to the `mosquitto` user, which cannot read our temp files.
    if (process.getuid?.() === 0) lines.push('user root');
    if (opts.tls) {
      if (opts.tls.ca) lines.push(`cafile ${opts.tls.ca}`);
      lines.push(`certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`);
      lines.push(`require_certificate ${opts.tls.requireCertificate ? 'true' : 'false'}`);
    }
    lines.push(...(opts.extraConfig ?? []));
    writeFileSync(this.confFile, lines.join('\n') + '\n');
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('mosquitto is already running');
    this.captured = '';
    const child = spawn(MOSQUITTO, ['-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    children.add(child);
    const keep = (chunk: Buffer): void => {
      this.captured = (this.captured + chunk.toString()).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exitInfo: string | null = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = `exited with ${signal ?? code}`;
        children.delete(child);
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `could not start: ${err.message}`;
        children.delete(child);
        resolve();
      });
    });
    try {
      await waitForPort(this.port, () => exitInfo);
    } catch (err) {
      await this.stop();
      throw new Error(`mosquitto on port ${this.port}: ${(err as Error).message}\n${this.captured}`);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(killer);
  }

  output(): string {
    return this.captured;
  }
}

class AedesStandIn implements Impl {
  readonly kind = 'aedes';
  private running: { aedes: Aedes; server: Server; sockets: Set<Socket> } | null = null;

  constructor(private readonly port: number, private readonly opts: UpstreamBrokerOptions) {}

  output(): string {
    return '';
  }

  async start(): Promise<void> {
    if (this.running) throw new Error('the Aedes stand-in is already running');
    const aedes = new Aedes();
    await aedes.listen();
    const sockets = new Set<Socket>();
    const onSocket = (socket: Socket): void => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      aedes.handle(socket);
    };
    const tls = this.opts.tls;
    const server = tls
      ? createTlsServer({
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
        ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
        requestCert: tls.requireCertificate === true,
        rejectUnauthorized: tls.requireCertificate === true,
      }, onSocket)
      : createNetServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, HOST, () => resolve());
    });
    this.running = { aedes, server, sockets };
  }

  async stop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    this.running = null;
    // Like a killed broker: every client loses its socket at once.
    const closed = new Promise<void>((resolve) => r.server.close(() => resolve()));
    for (const s of r.sockets) s.destroy();
    await new Promise<void>((resolve) => r.aedes.close(() => resolve()));
    await closed;
  }
}

/** Resolves once something accepts TCP connections on the port; `failed` ends the wait early. */
async function waitForPort(port: number, failed: () => string | null): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`not accepting connections after ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: HOST });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
