// QoS 1 load from many devices, as a real fleet would send it: each device is its own
// MQTT.js client publishing JSON readings with an explicit unique id and an increasing
// `seq`, several publishes in flight at once. Every PUBACKed id is recorded.
import { randomBytes } from 'node:crypto';
import { closed, connect, endAll, publish, type MqttClient } from './mqtt.js';

export interface Reading {
  id: string;
  seq: number;
  value: number;
  /** Incompressible padding (LoadOptions.padding), so a test can fill a disk quickly. */
  note?: string;
}

export interface Device {
  name: string;
  /** Readings sent, in seq order (acknowledged or not). */
  sent: Reading[];
  /** Ids whose PUBACK arrived. */
  acked: Set<string>;
}

export interface LoadOptions {
  devices: number;
  /** Publishes in flight per device. */
  inflight: number;
  /** Device name prefix: devices are `<prefix>-0`, `<prefix>-1`, … */
  prefix: string;
  /** Random bytes of padding per reading (sent as base64); default none. */
  padding?: number;
}

export interface Load {
  devices: Device[];
  /** Total PUBACKs so far. */
  acked: () => number;
  /** Resolves once every device stopped: its connection closed or `stop()` was called. */
  done: Promise<void>;
  /** Stops sending new publishes; in-flight ones settle or die with their connection. */
  stop: () => void;
  /** Ends every client (forcibly). */
  close: () => Promise<void>;
}

export const reading = (device: string, seq: number): Reading => ({ id: `${device}/r${seq}`, seq, value: seq % 100 });

export const topicOf = (device: string) => `sensors/${device}/load`;

/** Starts the load against `brokerUrl`; each device continues from `devices[i]` if given. */
export async function startLoad(brokerUrl: string, opts: LoadOptions, previous?: Device[]): Promise<Load> {
  const devices: Device[] = previous ?? Array.from({ length: opts.devices }, (_, i) => ({ name: `${opts.prefix}-${i}`, sent: [], acked: new Set<string>() }));
  const clients: MqttClient[] = await Promise.all(devices.map((d) => connect(brokerUrl, { clientId: d.name })));
  let stopped = false;
  let total = 0;
  const runDevice = async (device: Device, client: MqttClient): Promise<void> => {
    const gone = closed(client);
    let dead = false;
    void gone.then(() => (dead = true));
    const worker = async () => {
      while (!stopped && !dead) {
        const r = reading(device.name, device.sent.length + 1);
        if (opts.padding) r.note = randomBytes(opts.padding).toString('base64');
        device.sent.push(r);
        const outcome = await Promise.race([publish(client, topicOf(device.name), r).then(() => 'acked' as const, () => 'failed' as const), gone]);
        if (outcome !== 'acked') return;
        device.acked.add(r.id);
        total++;
      }
    };
    await Promise.all(Array.from({ length: opts.inflight }, worker));
  };
  const done = Promise.all(devices.map((d, i) => runDevice(d, clients[i]))).then(() => undefined);
  return {
    devices,
    acked: () => total,
    done,
    stop: () => (stopped = true),
    close: () => endAll(clients),
  };
}

/** Re-sends, in seq order, every reading that was sent but never acknowledged: what a device does after a reconnect. */
export async function resendUnacked(brokerUrl: string, devices: readonly Device[]): Promise<void> {
  await Promise.all(devices.map(async (device) => {
    const client = await connect(brokerUrl, { clientId: device.name });
    try {
      const pending = device.sent.filter((r) => !device.acked.has(r.id));
      await Promise.all(pending.map((r) => publish(client, topicOf(device.name), r).then(() => device.acked.add(r.id))));
    } finally {
      await endAll([client]);
    }
  }));
}
