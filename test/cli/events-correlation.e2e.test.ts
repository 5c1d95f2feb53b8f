// A causation chain end to end: readings published to the real daemon with a
// "correlationId" in their JSON, and commands from a real upstream mosquitto carrying
// correlationId/causationId in their envelope, read back as one chain by
// `edgebus events --correlation` (through the daemon's API while it runs, from the store
// once it stopped) and GET /api/events?correlation=: exactly the chain, in log order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, getStatus, parseNdjson } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const COMMANDS = 'edgebus/test-gw/commands/pump-1';

/** The CLI runs compared between the two modes, by name. */
const RUNS: Record<string, string[]> = {
  root: ['events', '--json', '--correlation', 'r-root'],
  tag: ['events', '--json', '--correlation', 'corr-A'],
  commands: ['events', '--json', '--correlation', 'r-root', '--type', 'Command'],
  table: ['events', '--correlation', 'corr-A'],
};

async function runAll(config: string, cwd: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, args] of Object.entries(RUNS)) {
    const r = await runCli([...args, '--config', config], { cwd });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    out[name] = r.stdout;
  }
  return out;
}

const idsOf = (text: string) => parseNdjson<EdgeEvent>(text).map((e) => e.id);

describe('events --correlation: a chain through the daemon, the upstream and the CLI', () => {
  const tmp = tempDir();
  let broker: UpstreamBroker;
  let config: string;
  let d: ChildDaemon | null = null;
  let device: MqttClient | null = null;
  let cloud: MqttClient | null = null;
  let pump: MqttClient | null = null;
  const delivered: string[] = [];
  let live: Record<string, string>;

  before(async () => {
    broker = await startUpstreamBroker();
    config = writeConfig(tmp.dir, {
      http: { port: await freePort() },
      upstream: { url: broker.url, keepalive: '2s', batch: { maxEvents: 100, linger: '20ms' } },
    });
    d = await spawnDaemon(config);
    await waitFor(async () => (await getStatus(d!.httpUrl) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
    device = await connect(d.brokerUrl, { clientId: 'corr-device' });
    pump = await connect(d.brokerUrl, { clientId: 'corr-pump' });
    pump.on('message', (_t, p) => delivered.push(p.toString()));
    await pump.subscribeAsync('cmd/pump-1', { qos: 1 });
    cloud = await connect(broker.url, { clientId: 'corr-cloud' });

    await publish(device, 'sensors/tank-1/level', { id: 'r-root', value: 91 });
    await publish(device, 'sensors/tank-2/level', { id: 'noise-1', value: 10 });
    await publish(device, 'sensors/tank-1/level', { id: 'r-2', value: 95, correlationId: 'r-root', causationId: 'r-root' });
    await publish(device, 'sensors/tank-2/level', { id: 'a-1', value: 11, correlationId: 'corr-A' });
    // The command topic is subscribed once the link is up; a command sent before that is
    // not seen, so the first is sent until it arrives (its id makes a second copy a duplicate).
    const first = JSON.stringify({ id: 'cmd-1', action: 'drain', correlationId: 'r-root', causationId: 'r-2' });
    await waitFor(async () => {
      if (delivered.length > 0) return true;
      await cloud!.publishAsync(COMMANDS, first, { qos: 1 });
      return delivered.length > 0;
    }, { interval: 200, message: 'the first command delivered' });
    await cloud.publishAsync(COMMANDS, JSON.stringify({ id: 'cmd-2', action: 'stop' }), { qos: 1 });
    await cloud.publishAsync(COMMANDS, JSON.stringify({ id: 'cmd-3', action: 'odd', correlationId: 42 }), { qos: 1 });
    await cloud.publishAsync(COMMANDS, JSON.stringify({ id: 'cmd-4', action: 'fill', correlationId: 'corr-A', causationId: 'a-1' }), { qos: 1 });
    await waitFor(() => delivered.length === 4, { message: 'four commands delivered' });
    await publish(device, 'sensors/tank-1/level', { id: 'r-3', value: 40, correlationId: 'r-root', causationId: 'cmd-1' });
  });
  after(async () => {
    await endAll([device ?? undefined, pump ?? undefined, cloud ?? undefined]);
    await killDaemon(d);
    await broker?.stop();
    tmp.cleanup();
  });

  test('GET /api/events?correlation= returns exactly the chain, root first, in log order', async () => {
    const chain = await getEvents(d!.httpUrl, { correlation: 'r-root' });
    assert.deepEqual(chain.map((e) => e.id), ['r-root', 'r-2', 'cmd-1', 'r-3']);
    assert.deepEqual(chain.map((e) => e.type), ['DeviceData', 'DeviceData', 'Command', 'DeviceData']);
    assert.deepEqual(chain.map((e) => [e.metadata.correlationId, e.metadata.causationId]),
      [[null, null], ['r-root', 'r-root'], ['r-root', 'r-2'], ['r-root', 'cmd-1']]);
    for (let i = 1; i < chain.length; i++) assert.ok(chain[i].seq > chain[i - 1].seq, 'log order');
    // The command's chain ids left its payload; what the device got is the bytes as sent.
    assert.deepEqual(chain[2].payload, { id: 'cmd-1', action: 'drain' });
    assert.deepEqual(JSON.parse(delivered[0]), { id: 'cmd-1', action: 'drain', correlationId: 'r-root', causationId: 'r-2' });
    assert.deepEqual((await getEvents(d!.httpUrl, { correlation: 'corr-A' })).map((e) => e.id), ['a-1', 'cmd-4']);
    assert.deepEqual((await getEvents(d!.httpUrl, { correlation: 'r-root', type: 'Command' })).map((e) => e.id), ['cmd-1']);
    assert.deepEqual((await getEvents(d!.httpUrl, { correlation: 'r-root', source: 'tank-1', limit: 2 })).map((e) => e.id), ['r-root', 'r-2']);
    const empty = await fetch(`${d!.httpUrl}/api/events?correlation=`);
    assert.equal(empty.status, 400);
    assert.match(((await empty.json()) as { error: string }).error, /--correlation: expected a correlation id/);
  });

  test('a command without chain ids starts its own; one with a malformed id keeps it in its payload', async () => {
    const commands = await getEvents(d!.httpUrl, { type: 'Command' });
    const byId = new Map(commands.map((c) => [c.id, c]));
    assert.deepEqual(byId.get('cmd-2')!.metadata.correlationId, null);
    assert.deepEqual(byId.get('cmd-2')!.metadata.causationId, null);
    assert.deepEqual((await getEvents(d!.httpUrl, { correlation: 'cmd-2' })).map((e) => e.id), ['cmd-2']);
    assert.equal(byId.get('cmd-3')!.metadata.correlationId, null);
    assert.deepEqual(byId.get('cmd-3')!.payload, { id: 'cmd-3', action: 'odd', correlationId: 42 });
  });

  test('events --correlation while the daemon runs: the chain, through the API', async () => {
    live = await runAll(config, tmp.dir);
    assert.deepEqual(idsOf(live.root), ['r-root', 'r-2', 'cmd-1', 'r-3']);
    assert.deepEqual(idsOf(live.tag), ['a-1', 'cmd-4']);
    assert.deepEqual(idsOf(live.commands), ['cmd-1']);
    const table = live.table.trimEnd().split('\n');
    assert.equal(table.length, 3);
    assert.match(table[1], /DeviceData\s+tank-2\s+\d+\s+a-1/);
    assert.match(table[2], /Command\s+test-gw\s+\d+\s+cmd-4/);
    const bad = await runCli(['events', '--correlation', '', '--config', config], { cwd: tmp.dir });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--correlation: expected a correlation id/);
  });

  test('events --correlation after SIGTERM: the same chains, read from the store', async () => {
    d!.child.kill('SIGTERM');
    assert.deepEqual(await d!.exited, { code: 0, signal: null });
    const offline = await runAll(config, tmp.dir);
    for (const name of Object.keys(RUNS)) assert.equal(offline[name], live[name], `${name} differs between the two modes`);
    const bad = await runCli(['events', '--correlation', '', '--config', config], { cwd: tmp.dir });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--correlation: expected a correlation id/);
  });
});
