// Redeliveries across a store write failure: a publish whose write failed was never stored
// (no PUBACK), so its DUP resend must be stored, not waved through as a duplicate of it.
// (A stored publish whose PUBACK is lost: redelivery.int.test.ts.) A real I/O fault (a soft
// RLIMIT_FSIZE on the child daemon, as in store-fault.e2e.test.ts) and a real redelivering
// client (a Mosquitto bridge) behind a proxy that records the packets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { getEvents } from '../helpers/api.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { startMosquittoBridge } from '../helpers/mosquitto-bridge.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { PacketType } from '../helpers/mqtt-frames.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import type { UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = 100_000;
const BIG = 'x'.repeat(20_000);
const READINGS = 12;
const SENTINEL = 1_000;

describe('DUP redeliveries across a store write failure', () => {
  const tmp = tempDir();
  let d: ChildDaemon;
  let proxy: TcpProxy;
  let bridge: UpstreamBroker;
  const clients: MqttClient[] = [];

  before(async () => {
    d = await spawnDaemon(writeConfig(tmp.dir, { store: { durability: 'fsync' } }), {}, { fileSizeLimit: LIMIT });
    proxy = await startTcpProxy(Number(new URL(d.brokerUrl).port), { mqtt: true });
    bridge = await startMosquittoBridge({ targetPort: proxy.port, clientId: 'bridge-fault' });
    await waitFor(() => proxy.packets().some((p) => p.direction === 'toClient' && p.type === PacketType.CONNACK), { timeout: 20_000, message: 'the bridge to connect' });
  });
  after(async () => {
    await endAll(clients);
    await bridge?.stop();
    await proxy?.close();
    await killDaemon(d);
    tmp.cleanup();
  });

  test('a DUP resend of a publish whose write failed is stored; every reading is stored exactly once', async () => {
    const device = await connect(bridge.url);
    clients.push(device);
    // Readings without id or seq: only the redelivery memory can tell a resend from a new one.
    for (let i = 0; i < READINGS; i++) await publish(device, 'sensors/shelly-1/power', { value: i, note: BIG });
    await waitFor(() => d.output().includes('store write failed'), { timeout: 30_000, message: 'a store write to fail' });
    execFileSync('prlimit', ['--pid', String(d.child.pid), '--fsize=unlimited:']);
    // The bridge resends what is unacknowledged before anything newer: once this is stored,
    // every resend has been through the daemon.
    await publish(device, 'sensors/shelly-1/power', { value: SENTINEL });
    const values = async (): Promise<number[]> =>
      (await getEvents(d.httpUrl, { source: 'shelly-1' })).map((e) => (e.payload as { value: number }).value);
    const got = await waitFor(async () => {
      const v = await values();
      return v.includes(SENTINEL) && v;
    }, { timeout: 60_000, message: `the sentinel reading\n${bridge.output()}` });
    assert.deepEqual([...got].sort((a, b) => a - b), [...Array.from({ length: READINGS }, (_, i) => i), SENTINEL]);
    // What the test is about happened: publishes went unacknowledged on the connection the
    // failure closed, and came back with DUP set.
    const packets = proxy.packets();
    const reconnect = packets.findIndex((p, i) => i > 0 && p.direction === 'toBroker' && p.type === PacketType.CONNECT);
    const first = packets.slice(0, reconnect);
    const acked = new Set(first.filter((p) => p.direction === 'toClient' && p.type === PacketType.PUBACK).map((p) => p.packetId));
    const unacked = first.filter((p) => p.direction === 'toBroker' && p.type === PacketType.PUBLISH && !acked.has(p.packetId)).map((p) => p.packetId);
    const resent = packets.slice(reconnect).filter((p) => p.direction === 'toBroker' && p.type === PacketType.PUBLISH && p.dup).map((p) => p.packetId);
    assert.ok(reconnect > 0 && unacked.length > 0, 'some publishes were refused');
    assert.deepEqual(unacked.filter((id) => !resent.includes(id)), [], 'each came back with DUP set');
  });
});
