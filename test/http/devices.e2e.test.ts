// `GET /api/devices` and `GET /api/devices/:id` (issue 16, current state) end to end: MQTT
// devices publish readings and statuses through the real broker, a serial device with a
// profile sends CSV over a real pty, and the API answers each device's current state.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DeviceView } from '../../src/usecases/device-views.js';
import { startDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish } from '../helpers/mqtt.js';
import { ptyPairFor } from '../helpers/pty.js';
import { tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

const weather = (path: string): string => `
id: weather-1
description: Rooftop weather station
serial: { path: ${JSON.stringify(path)}, baudRate: 9600 }
framing: { readline: "\\n" }
format: csv
fields:
  - { name: temperature, unit: C }
  - { name: humidity, unit: "%" }
commands: { encode: "{payload}\\n" }
`;

describe('GET /api/devices', () => {
  it('answers each device: last value per sensor, status, JSON metadata, location, and its profile', async (t) => {
    const { pty, open } = await ptyPairFor(t, 'edgebus-devices-');
    const dir = tempDirFor(t);
    mkdirSync(join(dir, 'devices'), { recursive: true });
    writeFileSync(join(dir, 'devices', 'weather.yaml'), weather(pty.devicePath));
    const d = await startDaemon(dir);
    t.after(() => d.stop());
    const c = await connect(d.brokerUrl);
    t.after(() => endAll([c]));

    await publish(c, 'devices/gh-1/status', { state: 'online', firmware: '1.4.2', model: 'TH-20', capabilities: ['temperature', 'humidity'] });
    await publish(c, 'sensors/gh-1/temperature', { value: 21.5, unit: 'C' });
    await publish(c, 'sensors/gh-1/temperature', { value: 22, unit: 'C' });
    await publish(c, 'sensors/gh-1/humidity', '40');
    await publish(c, 'sensors/gps-1/speed', { value: 12, unit: 'km/h', location: { lat: 48.1, lon: 11.5 } });
    await publish(c, 'devices/gps-1/status', 'offline');

    // The serial device says online once its port is open, then sends one CSV line.
    await waitFor(async () => (await getJson<DeviceView>(`${d.httpUrl}/api/devices/weather-1`)).body.status?.state === 'online', { message: 'weather-1 online' });
    const sim = await open(pty.simPath);
    await sim.write('18.5,70\n');
    await waitFor(async () => (await getJson<DeviceView>(`${d.httpUrl}/api/devices/weather-1`)).body.sensors?.humidity !== undefined, { message: 'the serial readings' });

    const list = await getJson<{ devices: DeviceView[] }>(`${d.httpUrl}/api/devices`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.devices.map((x) => x.id), ['gh-1', 'gps-1', 'weather-1'], 'every device, in id order');
    const [gh, gps, wx] = list.body.devices;

    assert.deepEqual(Object.fromEntries(Object.entries(gh.sensors).map(([k, s]) => [k, [s.value, s.unit]])), { temperature: [22, 'C'], humidity: [40, null] });
    assert.equal(gh.status?.state, 'online');
    assert.deepEqual(gh.metadata, { model: 'TH-20', firmware: '1.4.2', capabilities: ['temperature', 'humidity'] });
    assert.equal(gh.profile, null);
    assert.ok(gh.sensors.temperature.seq > 0 && gh.lastSeq >= gh.sensors.humidity.seq);

    assert.equal(gps.status?.state, 'offline');
    assert.deepEqual([gps.location?.lat, gps.location?.lon], [48.1, 11.5]);

    assert.deepEqual(Object.fromEntries(Object.entries(wx.sensors).map(([k, s]) => [k, [s.value, s.unit]])), { temperature: [18.5, 'C'], humidity: [70, '%'] });
    assert.deepEqual(wx.profile, {
      file: 'weather.yaml', description: 'Rooftop weather station', format: 'csv',
      sensors: [{ name: 'temperature', unit: 'C' }, { name: 'humidity', unit: '%' }], commands: true,
    });
    assert.deepEqual(wx.metadata, { capabilities: ['temperature', 'humidity'], description: 'Rooftop weather station' }, 'from the profile');

    const one = await getJson<DeviceView>(`${d.httpUrl}/api/devices/gh-1`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, gh);
  });

  it('answers 404 with a JSON error for a device it does not know', async (t) => {
    const dir = tempDirFor(t);
    const d = await startDaemon(dir);
    t.after(() => d.stop());
    const c = await connect(d.brokerUrl);
    t.after(() => endAll([c]));
    await publish(c, 'sensors/known/t', '1');
    const unknown = await getJson<{ error: string }>(`${d.httpUrl}/api/devices/nope`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /no device "nope"/);
    const empty = await getJson<{ error: string }>(`${d.httpUrl}/api/devices/`);
    assert.equal(empty.status, 404);
    const bad = await getJson<{ error: string }>(`${d.httpUrl}/api/devices/%E0%A4%A`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /percent-encoding/);
    assert.equal((await getJson<DeviceView>(`${d.httpUrl}/api/devices/known`)).body.sensors.t.value, 1);
  });
});
