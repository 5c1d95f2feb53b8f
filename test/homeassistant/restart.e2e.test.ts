// The embedded broker after a kill -9: the broker dies with the gateway, so Home Assistant
// loses its connection (its sign that every MQTT entity is unavailable), and the retained
// discovery died with the broker's memory. The next start must publish every device again
// from the store's device state, values and availability included, and show again the
// alerts raised before the crash once the rules have rebuilt them from the log.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { killDaemon, spawnDaemon, writeConfig } from '../helpers/daemon.js';
import { configProblems, homeAssistant, type EntityConfig } from '../helpers/home-assistant.js';
import { closed, connect, endAll, publish } from '../helpers/mqtt.js';
import { tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const HOT = `
id: hot
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
window: { sliding: 1h }
having: { count: { gte: 1 } }
emit: { severity: warning, message: "{group} hot" }
clear: { where: { value: { lt: 28 } } }
`;
const ALERT = 'homeassistant/binary_sensor/test-gw/alert_hot_node-11/config';

const DEVICES = 12;
const ids = Array.from({ length: DEVICES }, (_, i) => `node-${i}`);
const topic = (id: string) => `homeassistant/sensor/test-gw_${id}/temperature/config`;

describe('Home Assistant discovery across a kill -9 of the gateway', () => {
  it('drops Home Assistant with the broker, then publishes every device again at the next start', async (t) => {
    const dir = tempDirFor(t);
    mkdirSync(join(dir, 'rules'), { recursive: true });
    writeFileSync(join(dir, 'rules', 'hot.yaml'), HOT);
    const config = writeConfig(dir);
    const first = await spawnDaemon(config);
    t.after(() => killDaemon(first));
    const ha = await homeAssistant(first.brokerUrl, ['homeassistant/#', 'edgebus/test-gw/#']);
    const dev = await connect(first.brokerUrl);
    t.after(() => endAll([ha.client, dev]));
    // A dozen devices at once: however they fall into commit groups, each gets its config.
    await Promise.all(ids.map((id, i) => publish(dev, `sensors/${id}/temperature`, { value: 20 + i, unit: 'C' })));
    await publish(dev, 'devices/node-3/status', 'offline');
    await waitFor(() => ids.every((id) => ha.last.get(topic(id))), { message: 'a config per device' });
    for (const id of ids) assert.deepEqual(configProblems(topic(id), ha.last.get(topic(id))!), []);
    // node-11 reads 31: the rule raises its alert.
    await waitFor(() => ha.last.get(ALERT), { message: 'the alert before the crash' });
    await waitFor(() => ha.state(JSON.parse(ha.last.get(ALERT)!) as EntityConfig) === 'ON', { message: 'ON before the crash' });

    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(await closed(ha.client), 'closed', "Home Assistant's connection drops with the broker");

    const second = await spawnDaemon(config);
    t.after(() => killDaemon(second));
    const again = await homeAssistant(second.brokerUrl, ['homeassistant/#', 'edgebus/test-gw/#']);
    t.after(() => endAll([again.client]));
    await waitFor(() => ids.every((id) => again.last.get(topic(id))), { message: 'every config after the restart' });
    const configs = ids.map((id) => JSON.parse(again.last.get(topic(id))!) as EntityConfig);
    await waitFor(() => configs.every((c, i) => again.state(c) === String(20 + i)), { message: 'the values from the device state' });
    await waitFor(() => configs.every((c, i) => again.available(c) === (i !== 3)), { message: 'available, but node-3 which said offline' });
    await waitFor(() => again.last.get(ALERT), { message: 'the alert entity after the restart' });
    const alert = JSON.parse(again.last.get(ALERT)!) as EntityConfig;
    assert.deepEqual(configProblems(ALERT, again.last.get(ALERT)!), []);
    await waitFor(() => again.state(alert) === 'ON', { message: 'still ON: raised before the crash, never cleared' });
  });
});
