// The upstream link against a real broker: mosquitto (Aedes on a machine without it),
// with a TCP proxy in between wherever the network has to fail in a particular way.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Aedes } from 'aedes';
import type { UpstreamConfig } from '../../src/config/types.js';
import { commandDevice, LinkDownError, UpstreamLink, type LinkEvents, type UpstreamCommand } from '../../src/upstream/link.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { memoryLogger } from '../helpers/logger.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const VERSION = '9.9.9-test';
let seq = 0;

function upstreamConfig(url: string, over: Partial<UpstreamConfig> = {}): UpstreamConfig {
  const gw = over.clientId ?? `link-gw-${process.pid}-${++seq}`;
  return {
    url,
    clientId: gw,
    rejectUnauthorized: true,
    keepalive: 30_000,
    topic: `edgebus/${gw}/events`,
    commandTopic: `edgebus/${gw}/commands/#`,
    format: 'json',
    batch: { maxEvents: 500, maxBytes: 256 * 1024, linger: 200 },
    inflight: 4,
    retry: { initialDelay: 50, maxDelay: 500, multiplier: 2, jitter: true, maxAttempts: 10 },
    ...over,
  };
}

interface Harness {
  link: UpstreamLink;
  gatewayId: string;
  config: UpstreamConfig;
  events: { [K in keyof LinkEvents]: LinkEvents[K][0][] };
  /** up, down and retry in order, retries as `retry <attempt>` */
  timeline: string[];
  /** every log line the link wrote, JSON */
  logs: string[];
}

const links: UpstreamLink[] = [];

function startLink(config: UpstreamConfig): Harness {
  const { log, lines: logs } = memoryLogger('debug');
  const gatewayId = config.clientId;
  const link = new UpstreamLink({ config, gatewayId, version: VERSION, log });
  links.push(link);
  const events: Harness['events'] = { up: [], down: [], retry: [], command: [] };
  const timeline: string[] = [];
  link.on('up', (e) => {
    events.up.push(e);
    timeline.push('up');
  });
  link.on('down', (e) => {
    events.down.push(e);
    timeline.push('down');
  });
  link.on('retry', (e) => {
    events.retry.push(e);
    timeline.push(`retry ${e.attempt}`);
  });
  link.on('command', (e) => events.command.push(e));
  link.start();
  return { link, gatewayId, config, events, timeline, logs };
}

async function startConnected(config: UpstreamConfig): Promise<Harness> {
  const h = startLink(config);
  await waitFor(() => h.link.connected, { message: `link to ${config.url} up` });
  return h;
}

const statusTopic = (gw: string) => `edgebus/${gw}/status`;

interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  contentType: string | undefined;
}

/** A client that records everything on `filter`, subscribed before it resolves. */
async function watch(url: string, filter: string, opts: Parameters<typeof connect>[1] = {}): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = await connect(url, opts);
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, retain: packet.retain, contentType: packet.properties?.contentType });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages };
}

/** The retained message on `topic`, as a subscriber arriving now sees it. */
async function readRetained(url: string, topic: string, opts: Parameters<typeof connect>[1] = {}): Promise<Record<string, unknown>> {
  const w = await watch(url, topic, opts);
  try {
    const m = await waitFor(() => w.messages.find((x) => x.retain), { timeout: 5_000, message: `a retained message on ${topic}` });
    return JSON.parse(m.payload.toString()) as Record<string, unknown>;
  } finally {
    await endAll([w.client]);
  }
}

const state = (m: Received) => (JSON.parse(m.payload.toString()) as { state: string }).state;

after(async () => {
  await Promise.all(links.map((l) => l.stop()));
});

describe('commandDevice', () => {
  test('the levels under the filter\'s # name the device; no levels, no device', () => {
    const f = 'edgebus/gw/commands/#';
    assert.equal(commandDevice(f, 'edgebus/gw/commands/pump-1'), 'pump-1');
    assert.equal(commandDevice(f, 'edgebus/gw/commands/zone/a'), 'zone/a');
    assert.equal(commandDevice(f, 'edgebus/gw/commands'), null);
    assert.equal(commandDevice(f, 'edgebus/gw/commands/'), null);
    assert.equal(commandDevice(f, 'edgebus/other/commands/x'), null);
    assert.equal(commandDevice('edgebus/+/commands/#', 'edgebus/gw/commands/x'), 'x');
    assert.equal(commandDevice('edgebus/gw/commands/+', 'edgebus/gw/commands/x'), 'x');
    assert.equal(commandDevice('edgebus/gw/commands/+', 'edgebus/gw/commands/x/y'), null);
  });
});

describe('UpstreamLink', () => {
  let broker: UpstreamBroker;
  let proxy: TcpProxy;

  before(async () => {
    broker = await startUpstreamBroker();
    proxy = await startTcpProxy(broker.port);
  });
  after(async () => {
    await Promise.all(links.map((l) => l.stop()));
    await proxy?.close();
    await broker?.stop();
  });

  test('connects, publishes QoS 1 with its content type, and retains an online status', async () => {
    const config = upstreamConfig(broker.url, { username: 'gw-user', password: 'hunter2-secret' });
    // MQTT 5 to see the content type (Aedes speaks only 3.1.1).
    const w = await watch(broker.url, config.topic, broker.kind === 'mosquitto' ? { protocolVersion: 5 } : {});
    try {
      const h = startLink(config);
      // A listener that throws must not take the link down with it.
      h.link.once('up', () => {
        throw new Error('listener bug');
      });
      await waitFor(() => h.link.connected, { message: 'link up' });
      assert.equal(h.events.up.length, 1);
      assert.equal(h.events.up[0].protocolVersion, broker.kind === 'mosquitto' ? 5 : 4);

      const payload = Buffer.from(JSON.stringify({ gatewayId: h.gatewayId, batch: 1, events: [] }));
      assert.deepEqual(await h.link.publish(config.topic, payload, 'application/json'), { ok: true });
      const got = await waitFor(() => w.messages[0], { message: 'the batch at the subscriber' });
      assert.deepEqual(got.payload, payload);
      if (broker.kind === 'mosquitto') assert.equal(got.contentType, 'application/json');

      const status = await readRetained(broker.url, statusTopic(h.gatewayId));
      assert.equal(status.state, 'online');
      assert.equal(status.gatewayId, h.gatewayId);
      assert.equal(status.version, VERSION);
      assert.ok(!Number.isNaN(Date.parse(String(status.since))), `since is a time: ${String(status.since)}`);

      assert.ok(h.logs.some((l) => l.includes('listener bug')), 'the throwing listener was logged');
      assert.ok(!h.logs.some((l) => l.includes('hunter2-secret')), 'the password never reaches the log');
    } finally {
      await endAll([w.client]);
    }
  });

  test('publishing while down rejects with LinkDownError at once; bad topics are a TypeError', async () => {
    const h = startLink(upstreamConfig(`mqtt://127.0.0.1:${await freePort()}`));
    await waitFor(() => h.events.retry.length >= 1, { message: 'a retry' });
    await assert.rejects(h.link.publish('a/b', Buffer.from('x'), 'application/json'), LinkDownError);
    await assert.rejects(h.link.publish('a/#', Buffer.from('x'), 'application/json'), TypeError);
    await h.link.stop();
    await h.link.stop(); // idempotent
    assert.equal(h.events.down.length, 0, 'never up, so never down');
  });

  test('a hard cut fires the retained Last Will; pending publishes reject; the link comes back', async () => {
    const config = upstreamConfig(proxy.url);
    const gw = config.clientId;
    const w = await watch(broker.url, statusTopic(gw));
    try {
      const h = await startConnected(config);
      await waitFor(() => w.messages.some((m) => state(m) === 'online'), { message: 'online status' });

      // Bytes vanish, so these PUBACKs never come: the publishes are pending when the cut hits.
      proxy.blackhole();
      const pending = [1, 2, 3].map((i) => h.link.publish(config.topic, Buffer.from(`p${i}`), 'application/json'));
      proxy.cut();
      for (const p of pending) await assert.rejects(p, LinkDownError);
      await waitFor(() => h.events.down.length === 1, { message: 'down' });
      assert.equal(h.link.connected, false);

      await waitFor(() => w.messages.some((m) => state(m) === 'offline'), { message: 'the will, live' });
      const will = await readRetained(broker.url, statusTopic(gw));
      assert.deepEqual(will, { state: 'offline', gatewayId: gw });

      await waitFor(() => h.events.retry.length >= 1, { message: 'a retry while cut' });
      proxy.restore();
      await waitFor(() => h.link.connected, { message: 'up again' });
      assert.equal(h.events.up.length, 2);
      assert.deepEqual(await h.link.publish(config.topic, Buffer.from('after'), 'application/json'), { ok: true });
      assert.equal((await readRetained(broker.url, statusTopic(gw))).state, 'online');
    } finally {
      proxy.restore();
      await endAll([w.client]);
    }
  });

  test('stop() leaves a retained offline status, and the link stays down', async () => {
    const h = await startConnected(upstreamConfig(broker.url));
    const retries = h.events.retry.length;
    await h.link.stop();
    assert.equal(h.link.connected, false);
    assert.equal(h.events.down.length, 1);
    assert.equal(h.events.down[0].reason, 'stopped');
    const status = await readRetained(broker.url, statusTopic(h.gatewayId));
    assert.equal(status.state, 'offline');
    assert.equal(status.gatewayId, h.gatewayId);
    await assert.rejects(h.link.publish(h.config.topic, Buffer.from('x'), 'application/json'), LinkDownError);
    h.link.start(); // no effect after stop
    assert.equal(h.events.retry.length, retries);
  });

  test('keepalive notices a link that went silent', async () => {
    const h = await startConnected(upstreamConfig(proxy.url, { keepalive: 1_000 }));
    try {
      proxy.blackhole();
      await waitFor(() => h.events.down.length === 1, { timeout: 15_000, message: 'down on keepalive' });
      assert.match(h.events.down[0].reason, /keepalive/i);
      await waitFor(() => h.events.retry.length >= 1, { message: 'a retry' });
    } finally {
      proxy.restore();
    }
    await waitFor(() => h.link.connected, { message: 'up again after restore' });
  });

  test('commands under the command topic are emitted with their device; stored (retained) ones are not', async () => {
    const config = upstreamConfig(broker.url);
    const base = `edgebus/${config.clientId}/commands`;
    const cloud = await connect(broker.url);
    try {
      // Retained before the link subscribes: an old command, not to be carried out again.
      await cloud.publishAsync(`${base}/stale`, 'retained', { qos: 1, retain: true });
      const h = await startConnected(config);
      await publish(cloud, base, 'no device');
      await publish(cloud, `${base}/pump-1`, '{"set":"on"}');
      await publish(cloud, `${base}/zone/a`, 'open');
      await waitFor(() => h.events.command.some((c) => c.device === 'zone/a'), { message: 'the last command' });
      const seen = h.events.command.map((c: UpstreamCommand) => [c.topic, c.device, c.payload.toString()]);
      assert.deepEqual(seen, [[`${base}/pump-1`, 'pump-1', '{"set":"on"}'], [`${base}/zone/a`, 'zone/a', 'open']]);
    } finally {
      await cloud.publishAsync(`${base}/stale`, '', { qos: 1, retain: true }); // clears it
      await endAll([cloud]);
    }
  });
});

describe('UpstreamLink across a broker restart', () => {
  let broker: UpstreamBroker;
  before(async () => {
    broker = await startUpstreamBroker();
  });
  after(async () => {
    await Promise.all(links.map((l) => l.stop()));
    await broker?.stop();
  });

  test('goes down, retries with backoff, comes back, and publishes again', async () => {
    const h = await startConnected(upstreamConfig(broker.url));
    const before = h.events.retry.length; // the Aedes stand-in costs one, for the 3.1.1 fallback
    await broker.stop();
    await waitFor(() => h.events.down.length === 1, { message: 'down' });
    await waitFor(() => h.events.retry.length >= before + 2, { message: 'retries' });
    const [first, second] = h.events.retry.slice(before);
    assert.deepEqual([first.attempt, second.attempt], [1, 2]);
    assert.ok(first.delayMs >= 25 && first.delayMs <= 50, `first delay ${first.delayMs}`);
    assert.ok(second.delayMs >= 25 && second.delayMs <= 100, `second delay ${second.delayMs}`);
    await broker.start();
    await waitFor(() => h.link.connected, { message: 'up again' });
    assert.equal(h.events.up.length, 2);
    assert.deepEqual(await h.link.publish(h.config.topic, Buffer.from('back'), 'application/json'), { ok: true });
    // The backoff starts over after a CONNACK.
    await broker.stop();
    await waitFor(() => h.events.down.length === 2, { message: 'down again' });
    await waitFor(() => h.timeline.lastIndexOf('down') < h.timeline.length - 1, { message: 'a retry after the second outage' });
    assert.equal(h.timeline[h.timeline.lastIndexOf('down') + 1], 'retry 1');
    await broker.start();
    await waitFor(() => h.link.connected, { message: 'up a third time' });
  });
});

describe('UpstreamLink: a refused publish', () => {
  let broker: UpstreamBroker;
  before(async () => {
    broker = await startUpstreamBroker({ extraConfig: ['message_size_limit 1000'] });
  });
  after(async () => {
    await Promise.all(links.map((l) => l.stop()));
    await broker?.stop();
  });

  test('an oversize publish resolves { ok: false } with the PUBACK reason code, and the link stays up', async () => {
    // A refusal by reason code needs an MQTT 5 broker: without mosquitto this fails, it is not skipped.
    if (broker.kind !== 'mosquitto') assert.fail('needs mosquitto (message_size_limit): apt-get install mosquitto');
    const h = await startConnected(upstreamConfig(broker.url));
    const outcome = await h.link.publish(h.config.topic, Buffer.alloc(2_000, 0x61), 'application/json');
    // mosquitto 2.0 answers 0x95 Packet too large (not a PUBACK code in the MQTT 5 spec).
    assert.deepEqual(outcome, { ok: false, reasonCode: 0x95, reason: 'Packet too large' });
    assert.equal(h.link.connected, true);
    assert.deepEqual(await h.link.publish(h.config.topic, Buffer.alloc(10), 'application/json'), { ok: true });
    assert.equal(h.events.down.length, 0);
  });
});

describe('UpstreamLink over TLS', () => {
  let certs: TestCerts;
  let tlsBroker: UpstreamBroker;
  let mtlsBroker: UpstreamBroker;
  before(async () => {
    certs = await makeCerts();
    [tlsBroker, mtlsBroker] = await Promise.all([
      startUpstreamBroker({ tls: { cert: certs.serverCert, key: certs.serverKey } }),
      startUpstreamBroker({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireCertificate: true } }),
    ]);
  });
  after(async () => {
    await Promise.all(links.map((l) => l.stop()));
    await Promise.all([tlsBroker?.stop(), mtlsBroker?.stop()]);
    certs?.cleanup();
  });

  test('connects when the server certificate checks out against the configured CA', async () => {
    assert.match(tlsBroker.url, /^mqtts:/);
    const h = await startConnected(upstreamConfig(tlsBroker.url, { ca: certs.ca }));
    assert.deepEqual(await h.link.publish(h.config.topic, Buffer.from('tls'), 'application/json'), { ok: true });
  });

  test('without the CA the server is not trusted: the link stays down and retries', async () => {
    const h = startLink(upstreamConfig(tlsBroker.url));
    await waitFor(() => h.events.retry.length >= 2, { message: 'retries' });
    assert.match(h.events.retry[0].error.message, /certificate/i);
    assert.equal(h.events.up.length, 0);
    assert.equal(h.link.connected, false);
  });

  test('mutual TLS: a client certificate is required, and accepted', async () => {
    const h = await startConnected(upstreamConfig(mtlsBroker.url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }));
    assert.deepEqual(await h.link.publish(h.config.topic, Buffer.from('mtls'), 'application/json'), { ok: true });
    const anonymous = startLink(upstreamConfig(mtlsBroker.url, { ca: certs.ca }));
    await waitFor(() => anonymous.events.retry.length >= 1, { message: 'a retry without a client certificate' });
    assert.equal(anonymous.link.connected, false);
  });
});

describe('UpstreamLink against a broker that speaks only MQTT 3.1.1 (Aedes)', () => {
  let aedes: Aedes;
  let server: Server;
  let url: string;
  before(async () => {
    aedes = new Aedes();
    await aedes.listen();
    server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await Promise.all(links.map((l) => l.stop()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('falls back to 3.1.1 once, says so once, and works without properties', async () => {
    const h = await startConnected(upstreamConfig(url));
    assert.equal(h.link.protocolVersion, 4);
    assert.deepEqual(h.events.up, [{ protocolVersion: 4 }]);
    assert.equal(h.logs.filter((l) => l.includes('falling back to 3.1.1')).length, 1);
    assert.deepEqual(await h.link.publish(h.config.topic, Buffer.from('v4'), 'application/cbor'), { ok: true });
    const status = await readRetained(url, statusTopic(h.gatewayId));
    assert.equal(status.state, 'online');
  });
});
