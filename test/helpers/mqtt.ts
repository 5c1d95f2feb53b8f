// MQTT.js clients for tests: no automatic reconnect (a test decides when to reconnect),
// QoS 1 publishes that resolve on PUBACK, and a way to notice a closed connection.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export type { MqttClient };

export function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
}

/** QoS 1 publish: resolves on PUBACK. Objects are sent as JSON. */
export async function publish(client: MqttClient, topic: string, payload: string | Buffer | object): Promise<void> {
  const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  await client.publishAsync(topic, body, { qos: 1 });
}

/** Resolves when the broker (or the network) closes the client's connection. */
export function closed(client: MqttClient): Promise<'closed'> {
  if (client.disconnected || (!client.connected && !client.reconnecting)) return Promise.resolve('closed');
  return new Promise((resolve) => client.once('close', () => resolve('closed')));
}

/** Resolves with the first message on `topic` (subscribed before it resolves the setup). */
export async function nextMessage(client: MqttClient, topic: string): Promise<() => Promise<{ topic: string; payload: Buffer }>> {
  const received: { topic: string; payload: Buffer }[] = [];
  const waiters: ((m: { topic: string; payload: Buffer }) => void)[] = [];
  client.on('message', (t, payload) => {
    if (t !== topic) return;
    const msg = { topic: t, payload };
    const w = waiters.shift();
    if (w) w(msg);
    else received.push(msg);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return () => {
    const m = received.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => waiters.push(resolve));
  };
}

/** Ends every client, forcibly: cleanup must not hang on a dead broker. */
export async function endAll(clients: Iterable<MqttClient | undefined>): Promise<void> {
  await Promise.all([...clients].map((c) => (c ? c.endAsync(true).catch(() => {}) : undefined)));
}

/** Every message on a topic filter, as it arrives, on a client of its own. */
export async function listen(url: string, filter: string): Promise<{ client: MqttClient; got: { topic: string; body: string }[] }> {
  const client = await connect(url);
  const got: { topic: string; body: string }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, body: payload.toString() }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, got };
}
