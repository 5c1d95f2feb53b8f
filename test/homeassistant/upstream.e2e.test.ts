// Home Assistant discovery over the upstream link (`homeassistant.broker: upstream`): a
// gateway child process publishes to mosquitto, Home Assistant's stand-in subscribes
// there. The gateway's availability is the link's retained status and Last Will, so a
// kill -9 makes every entity unavailable once the broker delivers the Will; Home
// Assistant's `online` reaches the gateway through the link and brings every config again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { killDaemon, spawnDaemon, writeConfig } from '../helpers/daemon.js';
import { configProblems, homeAssistant, type EntityConfig } from '../helpers/home-assistant.js';
import { connect, endAll, publish } from '../helpers/mqtt.js';
import { tempDirFor } from '../helpers/tmp.js';
import { startUpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

describe('Home Assistant discovery on the upstream broker', () => {
  it('publishes through the link, republishes on online, and goes unavailable by the Will on kill -9', async (t) => {
    const dir = tempDirFor(t);
    const upstream = await startUpstreamBroker();
    t.after(() => upstream.stop());
    const config = writeConfig(dir, { upstream: { url: upstream.url }, homeassistant: { broker: 'upstream', prefix: 'ha' } });
    const gw = await spawnDaemon(config);
    t.after(() => killDaemon(gw));
    const ha = await homeAssistant(upstream.url, ['ha/#', 'edgebus/test-gw/#']);
    const dev = await connect(gw.brokerUrl);
    t.after(() => endAll([ha.client, dev]));

    await publish(dev, 'sensors/tank-1/level', { value: 120, unit: 'cm' });
    const topic = 'ha/sensor/test-gw_tank-1/level/config';
    await waitFor(() => ha.last.get(topic), { message: 'the config upstream' });
    assert.deepEqual(configProblems(topic, ha.last.get(topic)!), []);
    const level = JSON.parse(ha.last.get(topic)!) as EntityConfig;
    assert.equal(level.device_class, 'distance');
    await waitFor(() => ha.state(level) === '120', { message: 'the state upstream' });
    await waitFor(() => ha.available(level), { message: 'available: the link says online, the device reads' });

    const before = ha.count(topic);
    await ha.announce('ha', 'online');
    await waitFor(() => ha.count(topic) === before + 1, { message: 'the config again after online' });

    gw.child.kill('SIGKILL');
    await gw.exited;
    await waitFor(() => !ha.available(level), { message: 'unavailable once the broker delivers the Will' });
    assert.equal(JSON.parse(ha.last.get('edgebus/test-gw/status')!).state, 'offline');
  });
});
