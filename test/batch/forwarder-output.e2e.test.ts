// What a gateway really sends reads back with the published decoder: a daemon forwards
// readings and an alert through mosquitto in each encoding, and a plain MQTT 5 subscriber
// decodes every batch with `edgebus/batch` (imported by the package name) and verifies it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient as CloudClient } from 'mqtt';
import { eachEvent, readBatch, type Batch } from 'edgebus/batch';
import { getEvents, getStatus } from '../helpers/api.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const RULE = `
id: too-hot
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 90 } }
emit: { severity: critical, priority: critical, message: "oven too hot" }
`;

describe('the forwarder\'s batches, read with edgebus/batch', () => {
  let broker: UpstreamBroker;
  before(async () => {
    broker = await startUpstreamBroker();
  });
  after(async () => {
    await broker.stop();
  });

  for (const format of ['cbor', 'json'] as const) {
    describe(`as ${format}`, () => {
      let d: RunningDaemon;
      let device: MqttClient;
      let cloud: CloudClient;
      let tmp: ReturnType<typeof tempDir>;
      const batches: Batch[] = [];
      const contentTypes = new Set<string | undefined>();

      before(async () => {
        tmp = tempDir();
        mkdirSync(join(tmp.dir, 'rules'));
        writeFileSync(join(tmp.dir, 'rules', 'too-hot.yaml'), RULE);
        cloud = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
        // Decoding happens as each message arrives: a batch that does not verify fails the test there.
        cloud.on('message', (_topic, payload, packet) => {
          contentTypes.add(packet.properties?.contentType);
          batches.push(readBatch(payload, packet.properties?.contentType));
        });
        await cloud.subscribeAsync(`edgebus/${format}-gw/events`, { qos: 1 });
        d = await startDaemon(tmp.dir, {
          gatewayId: `${format}-gw`,
          upstream: { url: broker.url, format, batch: { maxEvents: 25, linger: '20ms' } },
        });
        await waitFor(async () => (await getStatus(d.httpUrl) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
        device = await connect(d.brokerUrl);
      });
      after(async () => {
        await device.endAsync();
        await d.stop();
        await cloud.endAsync();
        tmp.cleanup();
      });

      it('decodes and verifies every batch, and the events are the stored ones', async () => {
        for (let i = 1; i <= 60; i++) await publish(device, 'sensors/oven/temperature', { value: i === 40 ? 95 : 50, unit: 'C', seq: i });
        const stored = await getEvents(d.httpUrl, { limit: 1000 });
        assert.ok(stored.some((e) => e.type === 'Alert'), 'the rule raised its alert');
        await waitFor(() => batches.flatMap((b) => b.events).length >= stored.length, { message: `${stored.length} events upstream` });
        const arrived = batches.flatMap((b) => [...eachEvent(b)]);
        assert.deepEqual(arrived.map((e) => e.seq), stored.map((e) => e.seq));
        for (const b of batches) {
          assert.equal(b.version, 1);
          assert.equal(b.gatewayId, `${format}-gw`);
        }
        for (const [i, e] of arrived.entries()) {
          const { correctedTimestamp, ...event } = e;
          assert.equal(typeof correctedTimestamp, 'string');
          assert.deepEqual(event, stored[i]);
        }
        if (broker.kind === 'mosquitto') assert.deepEqual([...contentTypes], [`application/${format}`]);
      });
    });
  }
});
