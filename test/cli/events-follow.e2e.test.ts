// `edgebus events --follow` (README, CLI): with a child daemon and MQTT.js publishers, the
// CLI prints the stored events that match, then each new one as it comes, and exits 0 on
// SIGINT; without a daemon, or when the daemon stops under it, it says so (exit 2).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, parseNdjson } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { BIN } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

interface RunningCli {
  kill: (signal: NodeJS.Signals) => void;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the CLI and leaves it running (runCli waits for the end). */
function startCli(args: string[], cwd: string): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    kill: (signal) => child.kill(signal),
    stdout: () => out,
    stderr: () => err,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
}

describe('edgebus events --follow', () => {
  const tmp = tempDir();
  let config: string;
  let d: ChildDaemon | null = null;
  let client: MqttClient | null = null;
  const running: RunningCli[] = [];

  before(async () => {
    config = writeConfig(tmp.dir, { http: { port: await freePort() } });
  });
  after(async () => {
    for (const cli of running) cli.kill('SIGKILL');
    await endAll([client ?? undefined]);
    await killDaemon(d);
    tmp.cleanup();
  });

  test('without a running daemon it says so and exits 2', async () => {
    const r = await runCli(['events', '--follow', '--config', config], { cwd: tmp.dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /events --follow needs the running daemon \(none found for dataDir .*\); start it with `edgebus start`/);
  });

  test('--limit with --follow is a usage error', async () => {
    const r = await runCli(['events', '--follow', '--limit', '3', '--config', config], { cwd: tmp.dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--limit: a followed stream has no end/);
  });

  test('--json prints the stored events that match, then new ones as they come, and exits 0 on SIGINT', async () => {
    d = await spawnDaemon(config);
    client = await connect(d.brokerUrl, { clientId: 'follow-cli' });
    for (const seq of [1, 2]) await publish(client, 'sensors/cf/temperature', { seq, value: seq });
    await publish(client, 'sensors/other/temperature', '7');

    const cli = startCli(['events', '--follow', '--json', '--source', 'cf', '--config', config], tmp.dir);
    running.push(cli);
    const printed = () => parseNdjson<EdgeEvent>(cli.stdout());
    await waitFor(() => printed().length === 2, { message: 'the two stored events' });
    for (const seq of [3, 4, 5]) {
      await publish(client, 'sensors/cf/temperature', { seq, value: seq });
      await publish(client, 'sensors/other/temperature', String(seq));
      // Each one printed as it comes, not at the end.
      await waitFor(() => printed().length === seq, { message: `event ${seq} printed` });
    }
    cli.kill('SIGINT');
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.equal(cli.stderr(), '');
    assert.deepEqual(printed(), await getEvents(d.httpUrl, { source: 'cf' }));
  });

  test('when the daemon stops under it, it says where to resume and exits 2', async () => {
    const cli = startCli(['events', '-f', '--type', 'DeviceData', '--config', config], tmp.dir);
    running.push(cli);
    const last = (await getEvents(d!.httpUrl, { type: 'DeviceData' })).at(-1)!;
    await waitFor(() => cli.stdout().includes(last.id), { message: 'the table to show the stored events' });
    assert.match(cli.stdout(), /^ {5}SEQ {2}TIMESTAMP/);
    d!.child.kill('SIGTERM');
    assert.deepEqual(await d!.exited, { code: 0, signal: null });
    const r = await cli.exited;
    assert.equal(r.code, 2, cli.stderr());
    assert.match(cli.stderr(), new RegExp(`the daemon ended the stream after seq ${last.seq} \\(--from-seq ${last.seq + 1} resumes there\\)`));
  });
});
