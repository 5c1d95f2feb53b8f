// Real serial ports without hardware: socat joins two pseudo-terminals, the gateway opens
// one end as it would a USB adapter and the test (or the simulator) talks on the other.
// The ends are reached through symlinks at fixed paths, so they survive an unplug/replug
// (the kernel may hand out other /dev/pts numbers the second time).
//
// What a pty pair does that a test relies on (socat 1.7.4, serialport 13, Linux):
// - killing socat closes both masters: an open SerialPort on either end gets a 'close'
//   event with an error marked `disconnected: true` and no 'error' event; the message is
//   mostly "bad file descriptor", sometimes (~1 in 13) "end of file: the tty hung up" (below);
// - socat outlives its ends being closed and reopened by the programs using them;
// - bytes written to one end while the other end is not open are lost (serialport flushes
//   the input queue when it opens a port): open both ends before writing;
//
// (Ports are opened with src/devices/serial-binding.ts, which copes with the hangup an
// unplug causes.)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PtyPair {
  /** What the gateway opens (`serial.path`). */
  devicePath: string;
  /** The other end: for the simulator or the test. */
  simPath: string;
  /** socat is running and both links exist. */
  plugged(): boolean;
  /** "Pulls the cable": kills socat (SIGKILL) and waits for it; both ends and their links vanish. */
  unplug(): Promise<void>;
  /** Plugs it back in: socat again, with the same link paths. */
  replug(): Promise<void>;
  /** Unplugs for good (idempotent). */
  stop(): Promise<void>;
  /** What socat logged since it last started, for failure messages. */
  output(): string;
}

const SOCAT = process.env.EDGEBUS_SOCAT || 'socat';
const READY_TIMEOUT_MS = 5_000;

// A test that dies mid-way must not leave socat behind.
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts `socat pty,link=<dir>/dev pty,link=<dir>/sim` and waits until both ends exist. */
export async function ptyPair(dir: string): Promise<PtyPair> {
  const devicePath = join(dir, 'dev');
  const simPath = join(dir, 'sim');
  const args = ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${simPath}`];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let captured = '';

  // A dead pty leaves its link dangling (existsSync is false, lstat still finds it): remove
  // it, as udev removes a /dev/serial/by-id link when the adapter goes.
  const removeLinks = (): void => {
    rmSync(devicePath, { force: true });
    rmSync(simPath, { force: true });
  };

  const start = async (): Promise<void> => {
    if (child) throw new Error('the pty pair is already plugged in');
    removeLinks();
    captured = '';
    const c = spawn(SOCAT, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    children.add(c);
    c.stderr!.on('data', (d: Buffer) => (captured += d.toString()));
    let exitInfo: string | null = null;
    exited = new Promise((resolve) => {
      c.once('exit', (code, signal) => {
        exitInfo = `socat exited with ${signal ?? code}`;
        children.delete(c);
        resolve();
      });
      c.once('error', (err) => {
        exitInfo = (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? `${SOCAT} is not installed (apt-get install socat)`
          : `socat could not start: ${err.message}`;
        children.delete(c);
        resolve();
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(existsSync(devicePath) && existsSync(simPath))) {
      const failed = exitInfo ?? (Date.now() > deadline ? `no pty links after ${READY_TIMEOUT_MS} ms` : null);
      if (failed) {
        await stop();
        throw new Error(`pty pair in ${dir}: ${failed}\n${captured}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (c) {
      child = null;
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited;
    }
    removeLinks();
  };

  await start();
  return {
    devicePath,
    simPath,
    plugged: () => child !== null && existsSync(devicePath) && existsSync(simPath),
    unplug: stop,
    replug: start,
    stop,
    output: () => captured,
  };
}

