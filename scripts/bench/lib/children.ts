// Every child process and temp dir the benchmark makes is registered here, so that an
// error, Ctrl-C or SIGTERM halfway through a round still leaves nothing behind.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<Tracked>();
const dirs = new Set<string>();
const STOP_GRACE_MS = 10_000;
/** USER_HZ: Linux reports /proc/<pid>/stat times in these ticks on every supported arch. */
const CLOCK_TICKS = 100;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Tracked {
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Last output of the child, for error messages. */
  output: () => string;
}

/** Registers a freshly spawned child and captures the tail of its piped output. */
export function track(child: ChildProcess): Tracked {
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8192));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => {
    live.delete(tracked);
    resolve({ code, signal });
  }));
  const tracked: Tracked = { child, exited, output: () => out };
  live.add(tracked);
  return tracked;
}

/** SIGTERM (a graceful stop: edgebus flushes, V8 writes its CPU profile), SIGKILL if it hangs. */
export async function stop(t: Tracked): Promise<Exit> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return t.exited;
  t.child.kill('SIGTERM');
  const timer = setTimeout(() => t.child.kill('SIGKILL'), STOP_GRACE_MS);
  const exit = await t.exited;
  clearTimeout(timer);
  return exit;
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Last-resort cleanup: synchronous, so it also works from the 'exit' event. */
function killAllNow(): void {
  for (const t of live) t.child.kill('SIGKILL');
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Graceful cleanup first (children get SIGTERM), then the synchronous sweep. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...live].map(stop));
  killAllNow();
}

let interrupted = false;

/** True once a signal started the cleanup: failures after that are its consequence, not news. */
export function wasInterrupted(): boolean {
  return interrupted;
}

export function installCleanupHandlers(): void {
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\n${signal}: stopping children and removing temp dirs…\n`);
      // The shell convention: 128 + signal number (SIGINT 2, SIGTERM 15).
      void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

/** Peak resident set size (VmHWM) of a live process, in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** User + system CPU seconds a live process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may contain spaces: count fields after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Busy CPU seconds of the whole machine so far (all cores, every process, the kernel too). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) / CLOCK_TICKS;
}

/** Resolves with the first value `parse` finds in a child's stdout lines. */
export function waitForLine<T>(t: Tracked, parse: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const value = parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (value !== undefined) return done(null, value);
      }
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    void t.exited.then((e) => done(new Error(`${what}: child exited (code ${e.code}, signal ${e.signal}) before it was ready:\n${t.output()}`)));
    let settled = false;
    function done(err: Error | null, value?: T): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      t.child.stdout?.off('data', onData);
      if (err) reject(err);
      else resolve(value as T);
    }
    t.child.stdout?.on('data', onData);
  });
}
