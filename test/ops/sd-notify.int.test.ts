// systemd's notify protocol over a real unix datagram socket. The receiver stands in for
// PID 1: a perl one-liner (perl-base is Essential on Debian) that binds the socket and prints
// each datagram on one line. Not socat: socat keeps the pipe fd that systemd-notify passes
// with BARRIER=1, so every notify would wait out the barrier's 5 s timeout; perl's recv(),
// like PID 1, closes it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SdNotify } from '../../src/util/sd-notify.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const RECEIVER = String.raw`
  use Socket; $| = 1;
  socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
  my $addr = $ARGV[0]; $addr =~ s/^@/\0/;
  bind($s, pack_sockaddr_un($addr)) or die "bind $ARGV[0]: $!";
  print "LISTENING\n";
  while (defined(recv($s, my $msg, 65536, 0))) { $msg =~ s/\n/ /g; print "$msg\n"; }
`;

interface Receiver {
  /** One entry per datagram, its assignments joined by spaces. */
  messages: () => string[];
  count: (assignment: string) => number;
  close: () => void;
}

async function receive(address: string): Promise<Receiver> {
  const child: ChildProcess = spawn('perl', ['-e', RECEIVER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  await waitFor(() => {
    if (spawnError) throw new Error(`perl (package perl-base) is needed for this test: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`receiver exited: ${err}`);
    return out.startsWith('LISTENING\n');
  }, { message: `the notify receiver on ${address}` });
  const messages = (): string[] => out.split('\n').slice(1).filter((l) => l !== '');
  return {
    messages,
    count: (assignment) => messages().filter((m) => m.split(' ').includes(assignment)).length,
    close: () => void child.kill(),
  };
}

describe('sd_notify through systemd-notify', () => {
  const tmp = tempDir();
  const receivers: Receiver[] = [];
  const children: ChildDaemon[] = [];
  after(async () => {
    await Promise.all(children.map(killDaemon));
    for (const r of receivers) r.close();
    tmp.cleanup();
  });

  test('the daemon sends READY=1 with its status, WATCHDOG=1 repeatedly, and STOPPING=1 on SIGTERM', async () => {
    const socket = join(tmp.dir, 'notify.sock');
    const rx = await receive(socket);
    receivers.push(rx);
    const config = writeConfig(tmp.dir);
    const daemon = await spawnDaemon(config, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000' });
    children.push(daemon);

    const ready = await waitFor(() => rx.messages().find((m) => m.split(' ').includes('READY=1')), { message: 'READY=1' });
    assert.match(ready, /STATUS=edgebus ready: broker mqtt:\/\/\S+:\d+, http http:\/\/\S+:\d+, data /);
    assert.match(ready, new RegExp(`MAINPID=${daemon.child.pid}\\b`));
    await waitFor(() => rx.count('WATCHDOG=1') >= 2, { message: `two WATCHDOG=1 (got ${rx.messages().join(' | ')})` });
    assert.equal(rx.count('STOPPING=1'), 0);

    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    assert.equal(exit.code, 0, daemon.output());
    // STOPPING=1 is sent (and its helper has finished) before the daemon stops.
    await waitFor(() => rx.count('STOPPING=1') === 1, { message: 'STOPPING=1' });
    const order = rx.messages().map((m) => m.split(' ').find((a) => ['READY=1', 'STOPPING=1'].includes(a))).filter(Boolean);
    assert.deepEqual(order, ['READY=1', 'STOPPING=1']);
  });

  test('an abstract NOTIFY_SOCKET (@name) is reached', async () => {
    const address = `@edgebus-test-${process.pid}-${Date.now()}`;
    const rx = await receive(address);
    receivers.push(rx);
    const notify = SdNotify.fromEnv({ NOTIFY_SOCKET: address });
    assert.ok(notify);
    await notify.status('line one\nline two');
    await waitFor(() => rx.messages().find((m) => m.includes('STATUS=line one line two')), { message: 'STATUS=' });
  });

  test('fromEnv: null without NOTIFY_SOCKET; the watchdog only when WATCHDOG_PID is this process', () => {
    assert.equal(SdNotify.fromEnv({}), null);
    assert.equal(SdNotify.fromEnv({ NOTIFY_SOCKET: '' }), null);
    assert.equal(SdNotify.fromEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000' })?.watchdogUsec, 30_000_000);
    assert.equal(SdNotify.fromEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) })?.watchdogUsec, 30_000_000);
    assert.equal(SdNotify.fromEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid + 1) })?.watchdogUsec, undefined);
    assert.equal(SdNotify.fromEnv({ NOTIFY_SOCKET: '/run/x' })?.watchdogUsec, undefined);
  });

  test('a failed notify rejects (for the caller to log) and never throws synchronously', async () => {
    const notify = SdNotify.fromEnv({ NOTIFY_SOCKET: join(tmp.dir, 'nobody-listens.sock') })!;
    await assert.rejects(notify.ready('x'), /sd_notify READY=1: systemd-notify exited 1/);
    const missing = new SdNotify({ socket: join(tmp.dir, 'x.sock'), command: join(tmp.dir, 'no-such-helper') });
    await assert.rejects(missing.watchdog(), /sd_notify WATCHDOG=1: .*ENOENT/);
  });
});
