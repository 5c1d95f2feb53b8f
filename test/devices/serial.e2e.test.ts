// Serial devices end to end (SPEC §6) over real pseudo-terminals from socat: readings into
// the log and onto the local broker, garbage kept with its bytes, unplug and replug,
// commands written to the port, polling with timeouts, and a Modbus RTU exchange.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getDlq, getEvents, getStatus } from '../helpers/api.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { connect, listen, publish } from '../helpers/mqtt.js';
import { openSimEnd, ptyPair, type PtyPair, type SimEnd } from '../helpers/pty.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

interface Rig {
  pty: PtyPair;
  d: RunningDaemon;
  sim: SimEnd;
  dir: string;
}

/** A pty pair, a profile on its device end, the daemon, and the sim end open once the device is online. */
async function rig(t: TestContext, profile: (devicePath: string) => string): Promise<Rig> {
  const tmp = tempDir();
  const pty = await ptyPair(tmp.dir);
  const devices = join(tmp.dir, 'devices');
  mkdirSync(devices, { recursive: true });
  writeFileSync(join(devices, 'device.yaml'), profile(pty.devicePath));
  const d = await startDaemon(tmp.dir);
  let sim: SimEnd | null = null;
  t.after(async () => {
    await sim?.close().catch(() => {});
    await d.stop();
    await pty.stop();
    tmp.cleanup();
  });
  await waitFor(async () => (await statusEvents(d, 'online')).length > 0, { message: 'the device online' });
  sim = await openSimEnd(pty.simPath);
  return { pty, d, sim, dir: tmp.dir };
}

async function statusEvents(d: RunningDaemon, state: 'online' | 'offline'): Promise<EdgeEvent[]> {
  return (await getEvents(d.httpUrl, { type: 'DeviceStatus' })).filter((e) => e.payload.state === state);
}

async function readings(d: RunningDaemon, source: string): Promise<EdgeEvent[]> {
  return getEvents(d.httpUrl, { type: 'DeviceData', source });
}


const weather = (path: string, extra = ''): string => `
id: weather-1
serial: { path: ${JSON.stringify(path)}, baudRate: 9600 }
framing: { readline: "\\n" }
format: csv
fields:
  - { name: temperature, unit: C }
  - { name: humidity, unit: "%" }
  - { name: pressure, unit: hPa }
${extra}`;

describe('serial devices end to end', () => {
  it('turns each CSV line into readings in the log and republishes them on the local broker', async (t) => {
    const { d, sim } = await rig(t, (p) => weather(p));
    const local = await listen(d.brokerUrl, 'sensors/weather-1/+');
    t.after(() => local.client.endAsync());
    await sim.write('21.5,40,1013.2\n22.0,41,1013.0\n');
    await waitFor(async () => (await readings(d, 'weather-1')).length === 6, { message: 'six readings stored' });
    const events = await readings(d, 'weather-1');
    assert.deepEqual(events.map((e) => [e.sensor?.type, e.sensor?.value, e.sensor?.unit]), [
      ['temperature', 21.5, 'C'], ['humidity', 40, '%'], ['pressure', 1013.2, 'hPa'],
      ['temperature', 22, 'C'], ['humidity', 41, '%'], ['pressure', 1013, 'hPa'],
    ]);
    assert.ok(events.every((e) => e.device?.id === 'weather-1'));
    assert.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1].seq), 'in log order');
    await waitFor(() => local.got.length === 6, { message: 'six republished readings' });
    assert.deepEqual(local.got.slice(0, 3).map((m) => [m.topic, JSON.parse(m.body)]), [
      ['sensors/weather-1/temperature', { value: 21.5, unit: 'C' }],
      ['sensors/weather-1/humidity', { value: 40, unit: '%' }],
      ['sensors/weather-1/pressure', { value: 1013.2, unit: 'hPa' }],
    ]);
    const status = await getStatus(d.httpUrl) as { devices: { devices: { id: string; state: string; readings: number; lastReading: { sensor: string } }[] } };
    const [dev] = status.devices.devices;
    assert.equal(dev.id, 'weather-1');
    assert.equal(dev.state, 'online');
    assert.equal(dev.readings, 6);
    assert.equal(dev.lastReading.sensor, 'pressure');
  });

  it('reads a GPS: NMEA positions become the events\' location, RMC its time; a bad checksum is kept', async (t) => {
    const { d, sim } = await rig(t, (p) => `
id: gps-1
serial: { path: ${JSON.stringify(p)} }
framing: { readline: "\\r\\n" }
format: nmea
fields: [satellites, { name: speed, unit: kn }]
`);
    const nmea = (body: string): string => {
      let sum = 0;
      for (const c of body) sum ^= c.charCodeAt(0);
      return `$${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}\r\n`;
    };
    await sim.write(nmea('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'));
    await sim.write(nmea('GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00'));
    await sim.write('$GPRMC,123520,A,4807.040,N,01131.002,E,022.4,084.4,261126,003.1,W*00\r\n');
    await sim.write(nmea('GPRMC,123521,A,4807.042,N,01131.004,E,022.4,084.4,261126,003.1,W'));
    await waitFor(async () => (await readings(d, 'gps-1')).length === 2, { message: 'satellites and speed stored' });
    const [sats, speed] = await readings(d, 'gps-1');
    assert.deepEqual([sats.sensor?.type, sats.sensor?.value, speed.sensor?.type, speed.sensor?.value, speed.sensor?.unit], ['satellites', 8, 'speed', 22.4, 'kn']);
    assert.ok(Math.abs((sats.location?.lat ?? 0) - 48.1173) < 1e-4 && Math.abs((sats.location?.lon ?? 0) - 11.5167) < 1e-4, JSON.stringify(sats.location));
    assert.equal(sats.location?.alt, 545.4);
    assert.equal(speed.timestamp, '2026-11-26T12:35:21.000Z', 'RMC carries the time');
    const dlq = (await getDlq(d.httpUrl)).filter((r) => r.topic === 'serial/gps-1');
    assert.equal(dlq.length, 1);
    assert.match(dlq[0].detail, /checksum/);
  });

  it('keeps frames that do not decode with their bytes and reason, and goes on reading', async (t) => {
    const { d, sim } = await rig(t, (p) => weather(p));
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]);
    await sim.write(Buffer.concat([garbage, Buffer.from('1,2\nnot,a,number\n21.5,40,1013\n')]));
    await waitFor(async () => (await readings(d, 'weather-1')).length === 3, { message: 'the good line stored' });
    const dlq = (await getDlq(d.httpUrl)).filter((r) => r.topic === 'serial/weather-1');
    assert.equal(dlq.length, 2, JSON.stringify(dlq));
    assert.ok(dlq.every((r) => r.reason === 'undecodable-frame'));
    assert.deepEqual(Buffer.from(dlq[0].payload, 'base64'), garbage.subarray(0, 4), 'the raw bytes, delimiter removed');
    assert.match(dlq[1].detail, /column/);
    // "not,a,number" has text in every column: read as a header line and skipped.
    assert.equal((await getStatus(d.httpUrl) as { state: string }).state, 'ok');
  });

  it('says offline when the port is unplugged and online when it is back, then reads again', async (t) => {
    const { pty, d, sim } = await rig(t, (p) => weather(p));
    await sim.write('21.5,40,1013\n');
    await waitFor(async () => (await readings(d, 'weather-1')).length === 3, { message: 'first readings' });
    await sim.close();
    await pty.unplug();
    await waitFor(async () => (await statusEvents(d, 'offline')).length === 1, { message: 'DeviceStatus offline' });
    const offline = (await statusEvents(d, 'offline'))[0];
    assert.equal(offline.source, 'weather-1');
    assert.equal(offline.payload.reason, 'unplugged');
    await pty.replug();
    await waitFor(async () => (await statusEvents(d, 'online')).length === 2, { message: 'DeviceStatus online again', timeout: 15_000 });
    const again = await openSimEnd(pty.simPath);
    t.after(() => again.close().catch(() => {}));
    await again.write('23.5,42,1012\n');
    await waitFor(async () => (await readings(d, 'weather-1')).length === 6, { message: 'readings after the replug' });
  });

  it('writes a Command published on cmd/<device> to the port with the profile encoding', async (t) => {
    const { d, sim } = await rig(t, (p) => weather(p, 'commands: { encode: "SET {payload.relay} {payload.on}\\r\\n" }'));
    const cloud = await connect(d.brokerUrl);
    t.after(() => cloud.endAsync());
    await publish(cloud, 'cmd/weather-1', { relay: 2, on: true });
    const got = await sim.readUntil((b) => b.includes('\r\n'), { message: 'the command on the port' });
    assert.equal(got.toString(), 'SET 2 true\r\n');
  });

  it('polls a request/response device and reports it silent after three unanswered polls', async (t) => {
    const polled = (p: string) => weather(p, 'poll: { every: 300ms, write: "READ\\n", timeout: 150ms }');
    const { d, sim } = await rig(t, polled);
    // Answer two polls.
    for (let i = 0; i < 2; i++) {
      await sim.readLines(1);
      await sim.write(`2${i}.5,40,1013\n`);
    }
    await waitFor(async () => (await readings(d, 'weather-1')).length === 6, { message: 'two answers stored' });
    // Then stay silent.
    await waitFor(async () => (await statusEvents(d, 'offline')).length === 1, { message: 'offline after unanswered polls' });
    assert.equal((await statusEvents(d, 'offline'))[0].payload.reason, 'no answer to 3 polls');
    sim.pending();
    await sim.readUntil((b) => b.toString().endsWith('READ\n'), { message: 'still asked' });
    await sim.write('25.5,40,1013\n');
    await waitFor(async () => (await statusEvents(d, 'online')).length === 2, { message: 'online again on the answer' });
  });

  it('reads a Modbus RTU energy meter (the simulator as the slave) and scales its registers', async (t) => {
    const tmp = tempDir();
    const pty = await ptyPair(tmp.dir);
    const profile = (path: string) => `
id: meter-1
serial: { path: ${JSON.stringify(path)}, baudRate: 9600, parity: even }
format: modbus
options: { unitId: 7 }
fields:
  - { name: voltage, register: 0, table: input, type: f32, unit: V }
  - { name: power, register: 12, table: input, type: f32, unit: W }
  - { name: energy, register: 342, table: input, type: u32, scale: 0.01, unit: kWh }
  - { name: setpoint, register: 3, table: holding, type: i16, unit: C }
poll: { every: 300ms, timeout: 250ms }
`;
    const simFile = join(tmp.dir, 'meter-sim.yaml');
    writeFileSync(simFile, profile(pty.simPath));
    const sim = spawn(process.execPath, [join(ROOT, 'dist/scripts/simulate/main.js'), simFile, '--port', pty.simPath, '--every', '200ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let simOut = '';
    sim.stdout.on('data', (c: Buffer) => (simOut += c));
    sim.stderr.on('data', (c: Buffer) => (simOut += c));
    mkdirSync(join(tmp.dir, 'devices'));
    writeFileSync(join(tmp.dir, 'devices', 'meter.yaml'), profile(pty.devicePath));
    const d = await startDaemon(tmp.dir);
    t.after(async () => {
      await d.stop();
      sim.kill('SIGKILL');
      await pty.stop();
      tmp.cleanup();
    });
    const bySensor = async (): Promise<Map<string, EdgeEvent>> => new Map((await readings(d, 'meter-1')).map((e) => [e.sensor!.type, e]));
    await waitFor(async () => (await bySensor()).size === 4, { message: 'four registers read', timeout: 15_000 })
      .catch((err: Error) => assert.fail(`${err.message}; the simulator said: ${simOut}`));
    const got = await bySensor();
    const value = (name: string): number => got.get(name)!.sensor!.value as number;
    assert.ok(value('voltage') > 10 && value('voltage') < 15, `voltage ${value('voltage')}`);
    assert.ok(value('power') > 150 && value('power') < 350, `power ${value('power')}`);
    assert.ok(value('energy') > 1000 && value('energy') < 1400, `energy ${value('energy')} kWh after scaling`);
    assert.deepEqual([...got.values()].map((e) => [e.sensor!.type, e.sensor!.unit]).sort(), [['energy', 'kWh'], ['power', 'W'], ['setpoint', 'C'], ['voltage', 'V']]);
    const [device] = ((await getStatus(d.httpUrl)) as { devices: { devices: { state: string; rejected: number }[] } }).devices.devices;
    assert.equal(device.state, 'online');
    assert.equal(device.rejected, 0);
  });
});
