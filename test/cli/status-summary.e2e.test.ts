// The traffic summary of `edgebus status` (`--json` and for a person) and `/api/status` against
// a real daemon forwarding to mosquitto: readings over MQTT and from a serial device on a socat
// pty, a rule's alert, a payload that does not parse. Events by type and errors (last minute and
// since the start), publish → PUBACK, reading → alert and upstream forward percentiles, and one
// row per device and sensor with its last value, unit, time and recent values.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import type { SummarySnapshot } from '../../src/http/summary.js';
import { getEvents, getStatus } from '../helpers/api.js';
import { runCli, startDaemon } from '../helpers/daemon.js';
import { connect, publish } from '../helpers/mqtt.js';
import { openSimEnd, ptyPair } from '../helpers/pty.js';
import { hotRule } from '../helpers/rules.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

type Status = SummarySnapshot & { devices: { devices: { id: string; state: string }[] }; upstream: { connected: boolean; backlog: number } };

const weather = (path: string): string => `
id: weather-1
serial: { path: ${JSON.stringify(path)}, baudRate: 9600 }
framing: { readline: "\\n" }
format: csv
fields:
  - { name: temperature, unit: C }
  - { name: humidity, unit: "%" }
`;

it('status --json reports events by type, errors, latencies and every sensor seen on MQTT or serial', async (t) => {
  const tmp = tempDir();
  const pty = await ptyPair(tmp.dir);
  mkdirSync(join(tmp.dir, 'rules'), { recursive: true });
  writeFileSync(join(tmp.dir, 'rules', 'hot.yaml'), hotRule({ count: 1 }));
  mkdirSync(join(tmp.dir, 'devices'), { recursive: true });
  writeFileSync(join(tmp.dir, 'devices', 'weather.yaml'), weather(pty.devicePath));
  const cloud = await startUpstreamBroker();
  const d = await startDaemon(tmp.dir, { upstream: { url: cloud.url, batch: { maxEvents: 100, linger: '20ms' } } });
  const device = await connect(d.brokerUrl);
  t.after(async () => {
    await device.endAsync(true);
    await d.stop();
    await cloud.stop();
    await pty.stop();
    tmp.cleanup();
  });
  const status = async () => (await getStatus(d.httpUrl)) as unknown as Status;
  await waitFor(async () => (await status()).devices.devices[0]?.state === 'online', { message: 'the serial device online' });
  const sim = await openSimEnd(pty.simPath);
  t.after(() => sim.close());

  for (const v of [21, 22, 35]) await publish(device, 'sensors/gh-1/temperature', { value: v, unit: 'C' });
  await publish(device, 'sensors/gh-2/humidity', { value: 40, unit: '%' });
  await publish(device, 'sensors/gh-2/humidity', '{');
  await sim.write('21.5,40\n22.0,41\n');
  await waitFor(async () => {
    const s = await status();
    return s.events.byType.DeviceData.total === 8 && s.events.byType.Alert.total === 1 && s.upstream.connected && s.upstream.backlog === 0;
  }, { message: 'eight readings and the alert counted, and all of it forwarded' });

  const r = await runCli(['status', '--json', '--config', join(tmp.dir, 'edgebus.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Status;

  assert.deepEqual(s.events.byType.DeviceData, { lastMinute: 8, total: 8 });
  assert.deepEqual(s.events.byType.Alert, { lastMinute: 1, total: 1 });
  assert.ok(s.events.byType.DeviceStatus.total >= 1, 'the serial device\'s online status');
  assert.deepEqual(s.events.byType.BusinessEvent, { lastMinute: 0, total: 0 });
  assert.deepEqual(s.errors, { perMinute: 1, rejected: { lastMinute: 1, total: 1 }, storeErrors: { lastMinute: 0, total: 0 } });

  const ack = s.latency.ack.sinceStart;
  assert.ok(ack.count >= 5, `every publish acknowledged counts (${ack.count})`);
  assert.ok(ack.p50Ms !== null && ack.p99Ms !== null && ack.p50Ms > 0 && ack.p50Ms <= ack.p99Ms, JSON.stringify(ack));
  assert.deepEqual(s.latency.ack.lastMinute.count, ack.count);
  const toAlert = s.latency.readingToAlert.sinceStart;
  assert.equal(toAlert.count, 1, 'the one alert, caused by the reading of 35');
  assert.ok(toAlert.p50Ms !== null && toAlert.p50Ms >= 0 && toAlert.p99Ms === toAlert.p50Ms, JSON.stringify(toAlert));
  const forward = s.latency.forward.sinceStart;
  assert.ok(forward.count >= 1, 'every batch mosquitto acknowledged');
  assert.ok(forward.p50Ms !== null && forward.p99Ms !== null && forward.p50Ms > 0 && forward.p50Ms <= forward.p99Ms, JSON.stringify(forward));

  assert.equal(s.sensors.limit, 256);
  assert.equal(s.sensors.evicted, 0);
  assert.deepEqual(s.sensors.rows.map((row) => [row.device, row.sensor, row.value, row.unit, row.readings, row.spark]), [
    ['gh-1', 'temperature', 35, 'C', 3, [21, 22, 35]],
    ['gh-2', 'humidity', 40, '%', 1, [40]],
    ['weather-1', 'humidity', 41, '%', 2, [40, 41]],
    ['weather-1', 'temperature', 22, 'C', 2, [21.5, 22]],
  ]);
  const last = (await getEvents(d.httpUrl, { type: 'DeviceData', source: 'gh-1' })).at(-1)!;
  assert.equal(s.sensors.rows[0].time, last.timestamp, 'the time of the last reading');

  const human = await runCli(['status', '--config', join(tmp.dir, 'edgebus.yaml')]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^events: +DeviceData 8\/8, DeviceStatus \d+\/\d+, Alert 1\/1(, SystemEvent \d+\/\d+)? \(last minute\/since start\)$/m);
  assert.match(human.stdout, /^errors: +1\/min \(rejected 1, store errors 0; since start 1 and 0\)$/m);
  assert.match(human.stdout, /^latency: +publish→PUBACK p50 [\d.]+ ms p99 [\d.]+ ms, reading→alert p50 [\d.]+ ms p99 [\d.]+ ms, forward p50 [\d.]+ ms p99 [\d.]+ ms$/m);
  assert.match(human.stdout, /^sensors: +4$/m);
  assert.match(human.stdout, /^ +gh-1\/temperature = 35 C at \S+Z$/m);
  assert.match(human.stdout, /^ +weather-1\/humidity = 41 % at \S+Z$/m);
});
