// A causation chain end to end, through a real daemon (a child process, killed with -9):
// a reading published with `"correlationId"` over MQTT → the alert a rule raises → the
// Command its action sends, stored before it is published → the line a serial device
// profile writes to a pty — and a BusinessEvent another rule derives from the same reading.
// Every link carries the reading's correlation id and names its own cause. The daemon dies
// once after a chain is complete and once the moment an alert is out (its command stored
// with it, in one commit, its delivery racing the kill); each restart rebuilds the rules
// from the log and `replay --to rules` runs the whole log through them again: nothing is
// lost, stored twice, or written to the device twice.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { openSimEnd, ptyPair, type PtyPair, type SimEnd } from '../helpers/pty.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

// A window, so a restart's rebuild reads the chain's reading again and decides its alert again.
const HOT = `
id: hot
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
window: { sliding: 10m }
having: { count: { gte: 1 } }
emit: { severity: critical, message: "{group} hot" }
actions:
  - publish: { topic: "cmd/fan-1", payload: { fan: "on", corr: "{correlationId}", room: "{group}" } }
`;

const OVERHEATED = `
id: overheated
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
emit:
  type: BusinessEvent
  topic: "facts/{group}/overheated"
  payload: { room: "{group}", peak: "{value}" }
`;

const fan = (path: string): string => `
id: fan-1
serial: { path: ${JSON.stringify(path)}, baudRate: 9600 }
framing: { readline: "\\n" }
format: csv
fields: [ { name: rpm } ]
commands: { encode: "{payload}\\n" }
`;

interface Chain {
  reading: EdgeEvent;
  alert: EdgeEvent;
  command: EdgeEvent;
  fact: EdgeEvent;
}

/** The one event of each kind in correlation `corr`; fails if any is missing or doubled. */
function chainOf(events: readonly EdgeEvent[], corr: string): Chain {
  const inChain = events.filter((e) => e.metadata.correlationId === corr);
  const one = (type: EdgeEvent['type']): EdgeEvent => {
    const found = inChain.filter((e) => e.type === type);
    assert.equal(found.length, 1, `one ${type} in ${corr}, found ${found.length}: ${found.map((e) => e.id).join(', ')}`);
    return found[0];
  };
  return { reading: one('DeviceData'), alert: one('Alert'), command: one('Command'), fact: one('BusinessEvent') };
}

function assertChain(c: Chain, corr: string, room: string): void {
  assert.equal(c.reading.id, `reading-${corr}`);
  assert.equal(c.reading.metadata.causationId, null);
  assert.equal(c.alert.id, `alert:hot:${room}:${c.reading.seq}:raised`);
  assert.equal(c.alert.metadata.causationId, c.reading.id, 'the alert was caused by the reading');
  assert.equal(c.command.id, `${c.alert.id}:action:0`);
  assert.equal(c.command.metadata.causationId, c.alert.id, 'the command was caused by the alert');
  assert.deepEqual(c.command.device, { id: 'fan-1' });
  assert.deepEqual(c.command.payload, { fan: 'on', corr, room });
  assert.equal(c.command.seq, c.alert.seq + 1, 'stored with its alert, right after it');
  assert.equal(c.fact.id, `businessevent:overheated:${room}:${c.reading.seq}:raised`);
  assert.equal(c.fact.metadata.causationId, c.reading.id);
  assert.deepEqual(c.fact.payload, { room, peak: 35 });
}

describe('a causation chain across kill -9', () => {
  const tmp = tempDir();
  let pty: PtyPair | null = null;
  let sim: SimEnd | null = null;
  const daemons: ChildDaemon[] = [];
  const clients: MqttClient[] = [];

  after(async () => {
    await endAll(clients);
    for (const d of daemons) await killDaemon(d);
    await sim?.close().catch(() => {});
    await pty?.stop();
    tmp.cleanup();
  });

  /** Starts the daemon and waits until it has rebuilt its rules and the fan is open again. */
  async function start(config: string): Promise<ChildDaemon> {
    const onlineBefore = daemons.length;
    const d = await spawnDaemon(config);
    daemons.push(d);
    await waitFor(() => d.output().includes('"rebuiltFrom"'), { message: 'the rules rebuilt from the log' });
    await waitFor(async () => (await getEvents(d.httpUrl, { type: 'DeviceStatus' })).filter((e) => e.payload.state === 'online').length > onlineBefore, { message: 'the fan online' });
    return d;
  }

  async function reading(d: ChildDaemon, corr: string, room: string): Promise<void> {
    const device = await connect(d.brokerUrl, { reconnectPeriod: 0 });
    clients.push(device);
    await publish(device, `sensors/${room}/temperature`, { value: 35, id: `reading-${corr}`, correlationId: corr });
    await device.endAsync(true);
  }

  async function replayToRules(config: string): Promise<void> {
    const r = await runCli(['replay', '--from', 'all', '--to', 'rules', '--config', config], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
  }

  it('keeps one correlation id from reading to device, each link naming its cause, nothing lost or doubled', async (t) => {
    pty = await ptyPair(tmp.dir);
    const rules = join(tmp.dir, 'rules');
    const devices = join(tmp.dir, 'devices');
    mkdirSync(rules);
    mkdirSync(devices);
    writeFileSync(join(rules, 'hot.yaml'), HOT);
    writeFileSync(join(rules, 'overheated.yaml'), OVERHEATED);
    writeFileSync(join(devices, 'fan.yaml'), fan(pty.devicePath));
    const config = writeConfig(tmp.dir, { store: { durability: 'fsync' } });

    // 1. A whole chain, then kill -9.
    let d = await start(config);
    sim = await openSimEnd(pty.simPath);
    await reading(d, 'corr-A', 'gh-1');
    const [lineA] = await sim.readLines(1, { timeout: 10_000 });
    assert.deepEqual(JSON.parse(lineA), { fan: 'on', corr: 'corr-A', room: 'gh-1' });
    assertChain(chainOf(await getEvents(d.httpUrl, { limit: 1000 }), 'corr-A'), 'corr-A', 'gh-1');
    d.child.kill('SIGKILL');
    await d.exited;

    // 2. The restart rebuilds the window and decides the alert again; a replay decides all
    // again. Then a reading whose alert is out when the daemon dies: its command was stored
    // with it, and reaches the device before the kill or from the outbox after the restart.
    d = await start(config);
    await replayToRules(config);
    const alerts = await connect(d.brokerUrl, { reconnectPeriod: 0 });
    clients.push(alerts);
    alerts.on('message', (topic) => {
      if (topic === 'alerts/hot/gh-2') d.child.kill('SIGKILL');
    });
    await alerts.subscribeAsync('alerts/hot/+', { qos: 1 });
    await reading(d, 'corr-B', 'gh-2');
    await d.exited;
    await alerts.endAsync(true);

    // 3. Again, and a last chain: the device sees it after whatever came before.
    d = await start(config);
    await replayToRules(config);
    await reading(d, 'corr-C', 'gh-3');
    const written = await sim.readUntil((b) => b.toString().includes('corr-C'), { timeout: 10_000, message: 'the command of corr-C' });
    const lines = written.toString().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { corr: string });
    const corrs = lines.map((l) => l.corr);
    // corr-B's Command was stored with its alert; whether the kill came before its publish or
    // after, it reaches the device: from the outbox at the restart if not before. Twice only if
    // the kill fell between its publish and the outbox entry's removal (at least once).
    const bWrites = corrs.filter((c) => c === 'corr-B').length;
    assert.ok(bWrites === 1 || bWrites === 2, `corr-B's command reaches the device (at least once, at most twice); got ${JSON.stringify(corrs)}`);
    assert.deepEqual(corrs.slice(bWrites), ['corr-C'], `corr-B before corr-C, nothing else; got ${JSON.stringify(corrs)}`);
    t.diagnostic(bWrites === 2 ? 'the kill fell between corr-B\'s publish and its outbox entry\'s removal' : 'corr-B written once');

    const events = await getEvents(d.httpUrl, { limit: 1000 });
    assertChain(chainOf(events, 'corr-A'), 'corr-A', 'gh-1');
    assertChain(chainOf(events, 'corr-B'), 'corr-B', 'gh-2');
    assertChain(chainOf(events, 'corr-C'), 'corr-C', 'gh-3');
    const ids = events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no id stored twice');
    assert.equal(events.filter((e) => e.type === 'Command').length, 3);
    assert.equal(events.filter((e) => e.type === 'BusinessEvent').length, 3);
    assert.equal(events.filter((e) => e.type === 'Alert').length, 3);

    // The backtest shows what each rule would derive, and the commands its actions send.
    const fact = await runCli(['rules', 'test', join(rules, 'overheated.yaml'), '--since', '1h', '--config', config], { cwd: tmp.dir });
    assert.equal(fact.code, 0, fact.stderr);
    assert.match(fact.stdout.split('\n')[0], /raised\s+overheated\s+gh-1\s+BusinessEvent \{"room":"gh-1","peak":35\}$/);
    assert.match(fact.stderr, /^0 alerts, 3 BusinessEvents would have been emitted from \d+ events since 1h/);
    const hot = await runCli(['rules', 'test', join(rules, 'hot.yaml'), '--since', '1h', '--config', config], { cwd: tmp.dir });
    assert.equal(hot.code, 0, hot.stderr);
    assert.match(hot.stdout.split('\n')[0], /raised\s+hot\s+gh-1\s+gh-1 hot  \(\+1 command\)$/);
  });
});
