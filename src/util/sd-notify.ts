// systemd's notify protocol (sd_notify(3)) without a native addon: READY=1, STOPPING=1,
// STATUS=…, WATCHDOG=1 sent to $NOTIFY_SOCKET.
//
// Node cannot send AF_UNIX datagrams, so a helper process sends them. The helper is
// `systemd-notify`, not `socat - UNIX-SENDTO:$NOTIFY_SOCKET`:
// - A message from a process that is not the main PID is accepted only with
//   NotifyAccess=all (the unit sets it), and systemd must attribute it to the unit by the
//   sender's cgroup. A helper that exits before PID 1 reads the datagram cannot be
//   attributed, and the message is silently dropped (systemd#2739): with socat a lost
//   READY=1 fails the start on TimeoutStartSec, a lost WATCHDOG=1 restarts the daemon.
// - Since systemd 246 systemd-notify ends with sd_notify_barrier(): it sends BARRIER=1 with
//   a pipe fd and waits until PID 1 has processed (and closed) it, so it is still alive
//   when its message is attributed. That race is gone (Raspberry Pi OS 11 has 247, 12 has
//   252). `--pid=<our pid>` sends MAINPID= (our pid is the main PID anyway) and, when
//   privileged, sends the message with our credentials.
// - systemd-notify is on every host that sets NOTIFY_SOCKET (it ships with systemd);
//   socat would be one more package to install. Abstract sockets (`@name`) work as is.
// Failures never throw into the daemon: the promises reject and the caller logs them at
// debug level; the watchdog timer reports through its onError callback.
import { spawn } from 'node:child_process';

/** The longest a helper may run: the barrier itself times out after 5 s. */
const HELPER_TIMEOUT_MS = 10_000;

export interface SdNotifyOptions {
  /** $NOTIFY_SOCKET: a path, or `@name` for the abstract namespace. */
  socket: string;
  /** $WATCHDOG_USEC, when the unit has WatchdogSec= and it is meant for this process. */
  watchdogUsec?: number;
  /** The helper binary (default `systemd-notify` from PATH). */
  command?: string;
}

export class SdNotify {
  private timer: NodeJS.Timeout | null = null;
  private pinging = false;

  constructor(private readonly opts: SdNotifyOptions) {}

  /** From systemd's environment; null when not started by systemd with Type=notify. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): SdNotify | null {
    const socket = env.NOTIFY_SOCKET;
    if (socket === undefined || socket === '') return null;
    const usec = Number(env.WATCHDOG_USEC);
    // WATCHDOG_PID names the process the watchdog is meant for: not us, no pings.
    const forUs = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === '' || Number(env.WATCHDOG_PID) === process.pid;
    return new SdNotify({ socket, watchdogUsec: Number.isFinite(usec) && usec > 0 && forUs ? usec : undefined });
  }

  /** The watchdog period systemd asked for, in microseconds (undefined: none). */
  get watchdogUsec(): number | undefined {
    return this.opts.watchdogUsec;
  }

  ready(status?: string): Promise<void> {
    return this.send(status === undefined ? ['READY=1'] : ['READY=1', statusLine(status)]);
  }

  stopping(): Promise<void> {
    return this.send(['STOPPING=1']);
  }

  watchdog(): Promise<void> {
    return this.send(['WATCHDOG=1']);
  }

  status(text: string): Promise<void> {
    return this.send([statusLine(text)]);
  }

  /** Sends WATCHDOG=1 every half of WATCHDOG_USEC; the timer does not keep the process alive. */
  startWatchdog(onError: (err: Error) => void = () => {}): void {
    const usec = this.opts.watchdogUsec;
    if (usec === undefined || this.timer !== null) return;
    const ping = (): void => {
      // One helper at a time: a slow PID 1 must not pile up processes.
      if (this.pinging) return;
      this.pinging = true;
      this.watchdog().catch(onError).finally(() => (this.pinging = false));
    };
    this.timer = setInterval(ping, Math.max(1, Math.floor(usec / 2000)));
    this.timer.unref();
    ping();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private send(assignments: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const what = `sd_notify ${assignments[0]}`;
      const child = spawn(this.opts.command ?? 'systemd-notify', [`--pid=${process.pid}`, ...assignments], {
        env: { ...process.env, NOTIFY_SOCKET: this.opts.socket },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      // Not spawn's `timeout`: its timer outlives a helper that failed to spawn.
      const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS).unref();
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${what}: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${what}: systemd-notify ${signal ?? `exited ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
      });
    });
  }
}

/** One STATUS= line: the protocol separates assignments by newlines. */
function statusLine(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ')}`;
}
