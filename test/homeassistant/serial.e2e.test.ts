// A serial device in Home Assistant: a profile on a socat pty pair, CSV lines from its far
// end, and a client subscribed as Home Assistant is on the embedded broker. The device is
// described from its profile, its sensors' classes from the profile's units, and its
// entities go unavailable when the port is unplugged.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { configProblems, homeAssistant, type EntityConfig } from '../helpers/home-assistant.js';
import { endAll } from '../helpers/mqtt.js';
import { openSimEnd, ptyPair } from '../helpers/pty.js';
import { tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const profile = (path: string): string => `
id: weather-1
description: Rooftop weather station
serial: { path: ${JSON.stringify(path)}, baudRate: 9600 }
framing: { readline: "\\n" }
format: csv
fields:
  - { name: temperature, unit: C }
  - { name: humidity, unit: "%" }
  - { name: pressure, unit: hPa }
`;

describe('Home Assistant discovery of a serial device', () => {
  it('describes it from its profile, reads its values, and flips availability on unplug', async (t) => {
    const dir = tempDirFor(t);
    const pty = await ptyPair(dir);
    t.after(() => pty.stop());
    mkdirSync(join(dir, 'devices'), { recursive: true });
    writeFileSync(join(dir, 'devices', 'weather.yaml'), profile(pty.devicePath));
    const d = await startDaemon(dir);
    t.after(() => d.stop());
    const ha = await homeAssistant(d.brokerUrl, ['homeassistant/#', 'edgebus/test-gw/#']);
    t.after(() => endAll([ha.client]));
    const sim = await openSimEnd(pty.simPath);
    t.after(() => sim.close().catch(() => {}));

    await sim.write('21.5,40,1013.2\n');
    const topic = (sensor: string) => `homeassistant/sensor/test-gw_weather-1/${sensor}/config`;
    await waitFor(() => ['temperature', 'humidity', 'pressure'].every((s) => ha.last.get(topic(s))), { message: 'three configs' });
    const configs = ['temperature', 'humidity', 'pressure'].map((s) => JSON.parse(ha.last.get(topic(s))!) as EntityConfig);
    for (const s of ['temperature', 'humidity', 'pressure']) assert.deepEqual(configProblems(topic(s), ha.last.get(topic(s))!), []);
    assert.deepEqual(configs.map((c) => [c.device_class, c.unit_of_measurement]), [['temperature', '°C'], ['humidity', '%'], ['pressure', 'hPa']]);
    assert.equal(configs[0].device!.model, 'Rooftop weather station', 'the profile describes the device');
    await waitFor(() => ha.state(configs[0]) === '21.5' && ha.state(configs[2]) === '1013.2', { message: 'the states' });
    await waitFor(() => configs.every((c) => ha.available(c)), { message: 'available' });

    await sim.close();
    await pty.unplug();
    await waitFor(() => configs.every((c) => !ha.available(c)), { message: 'unavailable once unplugged' });
  });
});
