// A QoS 1 reading without `id` or `seq` (Tasmota, ESPHome, Shelly) whose PUBACK is lost
// comes back with DUP set after the client reconnects: it must be stored once, not twice.
// The real daemon, a real redelivering client (a Mosquitto bridge, see its helper) and a
// proxy between them that loses the first PUBACK with the connection it was on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { startMosquittoBridge } from '../helpers/mosquitto-bridge.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { PacketType } from '../helpers/mqtt-frames.js';
import { startTcpProxy, type ProxiedPacket, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import type { UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const BRIDGE_ID = 'bridge-dup';
const TOPIC = 'sensors/tas-1/temperature';

/** MQTT.js handing out one packet id: a device that reuses an id once it has its PUBACK. */
function fixedPacketId(id: number): NonNullable<IClientOptions['messageIdProvider']> {
  return { allocate: () => id, getLastAllocated: () => id, register: () => true, deallocate: () => {}, clear: () => {} };
}

describe('a DUP redelivery after a lost PUBACK', () => {
  const tmp = tempDir();
  let d: RunningDaemon;
  let proxy: TcpProxy;
  let bridge: UpstreamBroker;
  const clients: MqttClient[] = [];
  /** The packet id whose PUBACK the proxy lost. */
  let lostId: number;

  const stored = async (): Promise<number[]> =>
    (await getEvents(d.httpUrl, { source: 'tas-1' })).map((e) => (e.payload as { value: number }).value);
  const duplicates = async (): Promise<number> => metricValue(await getMetrics(d.httpUrl), 'edgebus_events_duplicate_total') ?? 0;
  const seen = (match: (p: ProxiedPacket) => boolean): ProxiedPacket | undefined => proxy.packets().find(match);

  before(async () => {
    d = await startDaemon(tmp.dir, { ingest: [{ topic: 'sensors/{device}/{sensor}', type: 'DeviceData' }] });
    proxy = await startTcpProxy(Number(new URL(d.brokerUrl).port), { mqtt: true });
    bridge = await startMosquittoBridge({ targetPort: proxy.port, clientId: BRIDGE_ID });
    await waitFor(() => seen((p) => p.direction === 'toClient' && p.type === PacketType.CONNACK), { timeout: 20_000, message: 'the bridge to connect' });
  });
  after(async () => {
    await endAll(clients);
    await bridge?.stop();
    await proxy?.close();
    await d?.stop();
    tmp.cleanup();
  });

  test('is stored once, acknowledged, and counted as a duplicate', async () => {
    const dupsBefore = await duplicates();
    const lost = proxy.dropNextAndClose(PacketType.PUBACK);
    const device = await connect(bridge.url);
    clients.push(device);
    await publish(device, TOPIC, { value: 21.5 });
    lostId = (await lost).packetId!;
    const original = seen((p) => p.direction === 'toBroker' && p.type === PacketType.PUBLISH && p.packetId === lostId);
    assert.equal(original?.dup, false, 'the first send');
    const resent = await waitFor(() => seen((p) => p.direction === 'toBroker' && p.type === PacketType.PUBLISH && p.packetId === lostId && p.dup), {
      timeout: 30_000, message: `the bridge to resend packet ${lostId} with DUP\n${bridge.output()}`,
    });
    assert.equal(resent.bytes[0], original!.bytes[0] | 0x08, 'DUP set');
    assert.ok(resent.bytes.subarray(1).equals(original!.bytes.subarray(1)), 'otherwise the same packet');
    await waitFor(() => seen((p) => p.direction === 'toClient' && p.type === PacketType.PUBACK && p.packetId === lostId && !p.dropped), {
      message: 'the PUBACK of the redelivery to reach the bridge',
    });
    assert.deepEqual(await stored(), [21.5]);
    assert.equal(await duplicates(), dupsBefore + 1);
  });

  test('a different reading under the same packet id later is new; its own DUP is a duplicate', async () => {
    // The bridge's ids run on from where they were: a device of its own reuses the id.
    await bridge.stop();
    const device = await connect(proxy.url, { clientId: BRIDGE_ID, messageIdProvider: fixedPacketId(lostId) });
    clients.push(device);
    const dupsBefore = await duplicates();
    await publish(device, TOPIC, { value: 22 });
    assert.deepEqual(await stored(), [21.5, 22], 'a new message: stored');
    await device.publishAsync(TOPIC, JSON.stringify({ value: 22 }), { qos: 1, dup: true });
    assert.deepEqual(await stored(), [21.5, 22], 'its redelivery: not stored again');
    assert.equal(await duplicates(), dupsBefore + 1);
    await device.publishAsync(TOPIC, JSON.stringify({ value: 21.5 }), { qos: 1, dup: true });
    assert.deepEqual(await stored(), [21.5, 22, 21.5], 'a DUP of what the id stood for before: new, the id has moved on');
    const sent = proxy.packets().filter((p) => p.direction === 'toBroker' && p.type === PacketType.PUBLISH && p.packetId === lostId);
    assert.deepEqual(sent.map((p) => p.dup), [false, true, false, true, true], 'on the wire, in order');
  });
});
