// Home Assistant discovery end to end on the embedded broker: readings and statuses
// published with MQTT.js, and a client subscribed as Home Assistant is, which validates
// every config against the discovery schema (test/fixtures/homeassistant), renders the
// templates against the state topics, and judges availability as Home Assistant does.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { configProblems, homeAssistant, type EntityConfig, type HomeAssistantClient } from '../helpers/home-assistant.js';
import { connect, endAll, publish } from '../helpers/mqtt.js';
import { tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const HOT = `
id: hot
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
window: { sliding: 10m }
having: { count: { gte: 1 } }
emit: { severity: warning, message: "{group} hot" }
clear: { where: { value: { lt: 28 } } }
`;

const PREFIX = 'homeassistant';
const SENSOR_TOPIC = (device: string, sensor: string) => `${PREFIX}/sensor/test-gw_${device}/${sensor}/config`;

function configOf(ha: HomeAssistantClient, topic: string): EntityConfig {
  const p = ha.last.get(topic);
  assert.ok(p, `no config on ${topic}`);
  return JSON.parse(p) as EntityConfig;
}

/** Every config message received so far is one Home Assistant takes. */
function assertAllValid(ha: HomeAssistantClient): void {
  const configs = ha.messages.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
  assert.ok(configs.length > 0);
  for (const m of configs) {
    assert.deepEqual(configProblems(m.topic, m.payload), [], m.payload);
  }
}

describe('Home Assistant discovery on the local broker', () => {
  it('describes each device and sensor once, carries values the templates read, flips availability, republishes on online, shows alerts', async (t) => {
    const dir = tempDirFor(t);
    mkdirSync(join(dir, 'rules'), { recursive: true });
    writeFileSync(join(dir, 'rules', 'hot.yaml'), HOT);
    const d = await startDaemon(dir, { homeassistant: { sensors: { 'meter-1/flow': { deviceClass: 'volume_flow_rate', unit: 'L/min' } } } });
    t.after(() => d.stop());
    const ha = await homeAssistant(d.brokerUrl, [`${PREFIX}/#`, 'edgebus/test-gw/#']);
    const dev = await connect(d.brokerUrl);
    t.after(() => endAll([ha.client, dev]));

    await publish(dev, 'devices/gh-1/status', { state: 'online', model: 'GH-2', manufacturer: 'Acme', firmware: '1.2.3' });
    await publish(dev, 'sensors/gh-1/temperature', { value: 21.5, unit: 'C' });
    await publish(dev, 'sensors/gh-1/humidity', { value: 40, unit: '%' });
    await publish(dev, 'sensors/meter-1/energy', { value: 12.25, unit: 'kWh' });
    await publish(dev, 'sensors/meter-1/flow', '3.5');
    await publish(dev, 'sensors/meter-1/mode', { value: 'eco' });
    const topics = [SENSOR_TOPIC('gh-1', 'temperature'), SENSOR_TOPIC('gh-1', 'humidity'), SENSOR_TOPIC('meter-1', 'energy'), SENSOR_TOPIC('meter-1', 'flow'), SENSOR_TOPIC('meter-1', 'mode')];
    await waitFor(() => topics.every((topic) => ha.last.has(topic)), { message: 'a config per sensor' });
    await waitFor(() => ha.last.get(`${PREFIX}/binary_sensor/test-gw/connectivity/config`), { message: "the gateway's own entity" });

    const temperature = configOf(ha, SENSOR_TOPIC('gh-1', 'temperature'));
    assert.equal(temperature.device_class, 'temperature');
    assert.equal(temperature.state_class, 'measurement');
    assert.equal(temperature.unit_of_measurement, '°C');
    assert.equal(temperature.availability_mode, 'all');
    assert.equal(temperature.availability!.length, 2);
    assert.deepEqual(temperature.device!.identifiers, ['edgebus_test-gw_gh-1']);
    assert.equal(temperature.device!.via_device, 'edgebus_test-gw');
    await waitFor(() => configOf(ha, SENSOR_TOPIC('gh-1', 'temperature')).device!.model === 'GH-2', { message: 'the model from the status' });
    const gh = configOf(ha, SENSOR_TOPIC('gh-1', 'temperature')).device!;
    assert.equal(gh.manufacturer, 'Acme');
    assert.equal(gh.sw_version, '1.2.3');
    assert.equal(configOf(ha, SENSOR_TOPIC('gh-1', 'humidity')).device_class, 'humidity');
    const energy = configOf(ha, SENSOR_TOPIC('meter-1', 'energy'));
    assert.deepEqual([energy.device_class, energy.state_class, energy.unit_of_measurement], ['energy', 'total_increasing', 'kWh']);
    const flow = configOf(ha, SENSOR_TOPIC('meter-1', 'flow'));
    assert.deepEqual([flow.device_class, flow.unit_of_measurement], ['volume_flow_rate', 'L/min'], 'the config override');
    const mode = configOf(ha, SENSOR_TOPIC('meter-1', 'mode'));
    assert.equal(mode.unit_of_measurement, undefined, 'a text sensor has no unit');
    assert.equal(mode.state_class, undefined);

    // The state topics carry what the templates read.
    await waitFor(() => ha.state(temperature) === '21.5', { message: 'the temperature state' });
    await waitFor(() => ha.state(energy) === '12.25' && ha.state(flow) === '3.5' && ha.state(mode) === 'eco', { message: 'the other states' });
    await waitFor(() => ha.available(temperature) && ha.available(energy), { message: 'available' });

    // Readings change states, not configs.
    const before = ha.count(SENSOR_TOPIC('gh-1', 'temperature'));
    for (const v of [22, 23, 24.5]) await publish(dev, 'sensors/gh-1/temperature', { value: v, unit: 'C' });
    await waitFor(() => ha.state(temperature) === '24.5', { message: 'the last reading' });
    assert.equal(ha.count(SENSOR_TOPIC('gh-1', 'temperature')), before, 'no config per reading');

    // The device says it is offline: its entities are unavailable, the others are not.
    await publish(dev, 'devices/gh-1/status', 'offline');
    await waitFor(() => !ha.available(temperature), { message: 'gh-1 unavailable' });
    assert.equal(ha.available(energy), true);
    await publish(dev, 'devices/gh-1/status', 'online');
    await waitFor(() => ha.available(temperature), { message: 'gh-1 available again' });

    // Home Assistant restarts: every config again.
    const counts = new Map([...ha.configs().keys()].map((topic) => [topic, ha.count(topic)]));
    await ha.announce(PREFIX, 'online');
    await waitFor(() => [...counts].every(([topic, n]) => ha.count(topic) === n + 1), { message: 'each config republished once' });

    // An alert: a problem binary_sensor of the gateway, ON while raised.
    const alertTopic = `${PREFIX}/binary_sensor/test-gw/alert_hot_gh-1/config`;
    await publish(dev, 'sensors/gh-1/temperature', { value: 35, unit: 'C' });
    await waitFor(() => ha.last.get(alertTopic), { message: 'the alert entity' });
    const alert = configOf(ha, alertTopic);
    assert.equal(alert.device_class, 'problem');
    assert.deepEqual(alert.device!.identifiers, ['edgebus_test-gw']);
    await waitFor(() => ha.state(alert) === 'ON', { message: 'alert ON' });
    assert.equal(ha.available(alert), true);
    await publish(dev, 'sensors/gh-1/temperature', { value: 20, unit: 'C' });
    await waitFor(() => ha.state(alert) === 'OFF', { message: 'alert OFF once cleared' });

    assertAllValid(ha);

    // A graceful stop says the gateway is offline: every entity is unavailable.
    await d.stop();
    await waitFor(() => !ha.available(energy) && !ha.available(alert), { message: 'unavailable after the stop' });
  });

  it('clears the configs of a device that retention removed', async (t) => {
    const dir = tempDirFor(t);
    const d = await startDaemon(dir, { store: { retention: '1s' }, schedules: { heartbeat: '0 0 1 1 *', prune: '* * * * * *' } });
    t.after(() => d.stop());
    const ha = await homeAssistant(d.brokerUrl, [`${PREFIX}/#`, 'edgebus/test-gw/#']);
    const dev = await connect(d.brokerUrl);
    t.after(() => endAll([ha.client, dev]));
    await publish(dev, 'sensors/old-1/temperature', { value: 19, unit: 'C' });
    const topic = SENSOR_TOPIC('old-1', 'temperature');
    await waitFor(() => ha.last.get(topic), { message: 'the config' });
    const config = configOf(ha, topic);
    // Retention prunes below the newest receive-time mark older than a second: another
    // device keeps reading, so old-1's only event goes, and with it old-1 and its config.
    await waitFor(async () => {
      await publish(dev, 'sensors/kept-1/temperature', { value: 20, unit: 'C' });
      return ha.last.get(topic) === '';
    }, { timeout: 15_000, interval: 250, message: 'the empty retained config' });
    assert.equal(ha.last.has(SENSOR_TOPIC('kept-1', 'temperature')), true);
    assert.equal(ha.state(config), undefined, 'its state is cleared too');
    const cleared = ha.messages.find((m) => m.topic === topic && m.payload === '');
    assert.ok(cleared);
    // What is retained is what Home Assistant finds when it connects later: nothing.
    // (the probe comes back after the retained messages the subscription brought).
    const late = await homeAssistant(d.brokerUrl, [`${PREFIX}/sensor/#`, 'probe/done']);
    t.after(() => endAll([late.client]));
    await late.client.publishAsync('probe/done', 'x', { qos: 1 });
    await waitFor(() => late.last.has('probe/done'), { message: 'the probe' });
    assert.equal(late.last.has(topic), false);
  });
});
