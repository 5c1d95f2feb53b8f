// Home Assistant discovery: per-component configs (one retained message per sensor, what
// edgebus publishes) against device-based discovery (one `<prefix>/device/<id>/config`
// per device holding all its components, Home Assistant 2024.11 and later), for a site of
// N devices × S sensors: messages and bytes of a full (re)publish — the start, and every
// `<prefix>/status` online —, the broker's retained store, what one new sensor costs, and
// the time to push a full republish through an in-process Aedes to one subscriber over TCP.
// Short: `node dist/scripts/bench/ha-discovery.js [--devices N] [--sensors S]`.
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { objectId, sensorConfigs, Topics, type DiscoveryNaming, type KnownDevice } from '../../src/homeassistant/discovery.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '200' }, sensors: { type: 'string', default: '4' } } });
const DEVICES = Number(values.devices);
const SENSORS = Number(values.sensors);
const NAMES: [string, string][] = [['temperature', 'C'], ['humidity', '%'], ['battery', '%'], ['energy', 'kWh'], ['power', 'W'], ['voltage', 'V'], ['co2', 'ppm'], ['pressure', 'hPa']];

const naming: DiscoveryNaming = { gatewayId: 'greenhouse-gw', prefix: 'homeassistant', version: '0.1.0', overrides: {} };
const topics = new Topics(naming);

function device(i: number): KnownDevice {
  const sensors: KnownDevice['sensors'] = {};
  for (let s = 0; s < SENSORS; s++) {
    const [name, unit] = NAMES[s % NAMES.length];
    sensors[s < NAMES.length ? name : `${name}_${s}`] = { value: 21.5, unit, timestamp: '2026-12-01T00:00:00.000Z' };
  }
  return { id: `node-${String(i).padStart(4, '0')}`, status: { state: 'online' }, metadata: { model: 'GH-2', manufacturer: 'Acme', firmware: '1.2.3' }, sensors };
}

type Message = [topic: string, payload: string];

function perComponent(d: KnownDevice): Message[] {
  return [...sensorConfigs(naming, topics, d)];
}

/** The same entities as one device-based payload: device, origin and availability once, each component under `components`. */
function deviceBased(d: KnownDevice): Message {
  const components: Record<string, object> = {};
  let shared: Record<string, unknown> = {};
  for (const [, payload] of perComponent(d)) {
    const { device: dev, origin, availability, availability_mode: mode, ...rest } = JSON.parse(payload) as Record<string, unknown>;
    shared = { device: dev, origin, availability, availability_mode: mode };
    components[objectId(String(rest.unique_id))] = { platform: 'sensor', ...rest };
  }
  return [`${naming.prefix}/device/${objectId(`${naming.gatewayId}_${d.id}`)}/config`, JSON.stringify({ ...shared, components })];
}

const bytes = (ms: readonly Message[]) => ms.reduce((n, [t, p]) => n + Buffer.byteLength(t) + Buffer.byteLength(p), 0);

async function pushThroughAedes(messages: readonly Message[]): Promise<number> {
  const broker = new Aedes();
  await broker.listen();
  const server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  await sub.subscribeAsync('homeassistant/#', { qos: 1 });
  let got = 0;
  const all = new Promise<void>((resolve) => sub.on('message', () => ++got === messages.length && resolve()));
  const t0 = performance.now();
  await Promise.all(messages.map(([t, p]) => pub.publishAsync(t, p, { qos: 1, retain: true })));
  await all;
  const ms = performance.now() - t0;
  await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
  server.close();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  return ms;
}

const devices = Array.from({ length: DEVICES }, (_, i) => device(i));
const component = devices.flatMap(perComponent);
const grouped = devices.map(deviceBased);
const newSensor = { component: bytes(perComponent(devices[0]).slice(0, 1)), device: bytes([deviceBased(devices[0])]) };
const ms = { component: await pushThroughAedes(component), device: await pushThroughAedes(grouped) };

const row = (name: string, a: string | number, b: string | number) => process.stdout.write(`${name.padEnd(38)} ${String(a).padStart(14)} ${String(b).padStart(14)}\n`);
process.stdout.write(`Home Assistant discovery, ${DEVICES} devices × ${SENSORS} sensors\n`);
row('', 'per-component', 'device-based');
row('messages per full (re)publish', component.length, grouped.length);
row('bytes per full (re)publish', bytes(component), bytes(grouped));
row('retained store (topics + payloads), B', bytes(component), bytes(grouped));
row('bytes for one new sensor', newSensor.component, newSensor.device);
row('republish through Aedes over TCP, ms', ms.component.toFixed(0), ms.device.toFixed(0));
