// Loopback ports for the brokers the benchmarks start, and the wait for one to listen.
import { createConnection, createServer, type AddressInfo } from 'node:net';
import type { Tracked } from './children.js';

/** A port free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Resolves once `port` accepts a connection; fails if the child `t` exits first or the
 * deadline passes. `everyMs`: how often to try (the drain counts from the moment it listens).
 */
export async function waitForPort(port: number, t: Tracked, opts: { timeoutMs: number; everyMs: number; name: string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (t.child.exitCode !== null) throw new Error(`${opts.name} exited with code ${t.child.exitCode}:\n${t.output()}`);
    const ok = await new Promise<boolean>((res) => {
      const sock = createConnection({ port, host: '127.0.0.1' });
      sock.once('connect', () => { sock.destroy(); res(true); });
      sock.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${opts.name} did not listen on ${port}:\n${t.output()}`);
    await new Promise((r) => setTimeout(r, opts.everyMs));
  }
}
