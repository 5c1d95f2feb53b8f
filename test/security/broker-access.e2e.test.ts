// Who may use the broker (SPEC §2 `broker`, `http`), through real MQTT connections to a
// real daemon: anonymous and wrong passwords refused, per-user topic rules with the
// {username} placeholder, the $SYS guard, the limits, TLS with and without the CA, client
// certificates, the HTTP token, and refusals logged without the password.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { hashPassword } from '../../src/security/password.js';
import { getDlq, getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { makeCerts } from '../helpers/certs.js';
import { spawnDaemon, startDaemon, writeConfig, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Connects, or says why not: the CONNACK's refusal, or the connection's end. */
function attempt(url: string, opts: IClientOptions = {}): Promise<{ client: MqttClient } | { refused: string }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
    client.once('connect', () => resolve({ client }));
    client.once('error', (err) => {
      client.end(true);
      resolve({ refused: err.message });
    });
    client.once('close', () => resolve({ refused: 'closed' }));
  });
}

async function connected(t: TestContext, url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const r = await attempt(url, opts);
  assert.ok('client' in r, `expected to connect, got ${'refused' in r ? r.refused : ''}`);
  // Forced: endAsync() on a client the broker already closed never settles.
  t.after(() => void r.client.end(true));
  return r.client;
}

async function daemon(t: TestContext, overrides: ConfigYaml): Promise<RunningDaemon> {
  const tmp = tempDir();
  const d = await startDaemon(tmp.dir, overrides);
  t.after(async () => {
    await d.stop();
    tmp.cleanup();
  });
  return d;
}

const refusals = async (d: RunningDaemon, reason: string): Promise<number> => metricValue(await getMetrics(d.httpUrl), 'edgebus_broker_refusals_total', { reason }) ?? 0;

/** Publishes at QoS 1 and says whether the broker acknowledged it or closed the connection. */
function tryPublish(client: MqttClient, topic: string, payload: string): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    client.once('close', () => resolve('closed'));
    client.publish(topic, payload, { qos: 1 }, (err) => resolve(err ? 'closed' : 'acked'));
  });
}

describe('broker access', () => {
  let fleetHash = '';
  let opsHash = '';
  const users = () => [
    // One entry for a fleet: each device may publish under its own name only.
    { username: 'dev-1', passwordHash: fleetHash, publish: ['sensors/{username}/#', 'devices/{username}/status'], subscribe: ['cmd/{username}'] },
    { username: 'dev-2', passwordHash: fleetHash, publish: ['sensors/{username}/#'], subscribe: ['cmd/{username}'] },
    { username: 'ops', passwordHash: opsHash },
  ];

  it('makes the hashes', async () => {
    [fleetHash, opsHash] = await Promise.all([hashPassword('fleet-secret'), hashPassword('ops-secret')]);
  });

  it('refuses anonymous clients and wrong passwords; lets the right one in', async (t) => {
    const d = await daemon(t, { broker: { allowAnonymous: false, users: users() } });
    const anon = await attempt(d.brokerUrl);
    assert.ok('refused' in anon && /Not authorized/i.test(anon.refused), JSON.stringify(anon));
    const wrong = await attempt(d.brokerUrl, { username: 'dev-1', password: 'nope' });
    assert.ok('refused' in wrong && /Bad username or password/i.test(wrong.refused), JSON.stringify(wrong));
    const unknown = await attempt(d.brokerUrl, { username: 'mallory', password: 'fleet-secret' });
    assert.ok('refused' in unknown && /Bad username or password/i.test(unknown.refused));
    await connected(t, d.brokerUrl, { username: 'dev-1', password: 'fleet-secret' });
    assert.equal(await refusals(d, 'anonymous'), 1);
    assert.equal(await refusals(d, 'bad-credentials'), 2);
  });

  it('refuses a publish on another device\'s topic and stores nothing of it; subscriptions follow the rules too', async (t) => {
    const d = await daemon(t, { broker: { allowAnonymous: false, users: users() } });
    const dev1 = await connected(t, d.brokerUrl, { username: 'dev-1', password: 'fleet-secret' });
    assert.equal(await tryPublish(dev1, 'sensors/dev-1/temperature', '{"value": 21.5}'), 'acked');
    assert.equal(await tryPublish(dev1, 'sensors/dev-2/temperature', '{"value": 99}'), 'closed', 'cross-device publish closes the connection');
    assert.equal(await refusals(d, 'publish-not-allowed'), 1);
    const stored = await getEvents(d.httpUrl, { type: 'DeviceData' });
    assert.deepEqual(stored.map((e) => [e.source, e.sensor?.value]), [['dev-1', 21.5]]);
    assert.equal((await getDlq(d.httpUrl)).length, 0, 'a refused publish is not a payload to keep');

    const again = await connected(t, d.brokerUrl, { username: 'dev-1', password: 'fleet-secret' });
    // MQTT.js rejects a SUBACK with any refused filter; the packet says which.
    const granted = await again.subscribeAsync({ 'cmd/dev-1': { qos: 1 }, 'cmd/dev-2': { qos: 1 }, '$SYS/#': { qos: 0 } })
      .then((g) => g.map((x) => x.qos), (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? []);
    assert.deepEqual(granted, [1, 128, 128]);
    // A user without rules may go anywhere but $SYS/.
    const ops = await connected(t, d.brokerUrl, { username: 'ops', password: 'ops-secret' });
    assert.equal(await tryPublish(ops, 'sensors/dev-2/temperature', '{"value": 22}'), 'acked');
    assert.equal(await tryPublish(ops, '$SYS/x', 'boom'), 'closed', '$SYS/ is reserved');
    assert.ok((await refusals(d, 'sys-topic')) >= 2);
  });

  it('limits connections, topic depth and each client\'s publish rate, and keeps an oversize payload as rejected', async (t) => {
    const d = await daemon(t, { broker: { maxPayload: '1kB', limits: { connections: 3, publishRate: 20, topicLevels: 4 } } });
    const a = await connected(t, d.brokerUrl);
    assert.equal(await tryPublish(a, 'sensors/a/t', 'x'.repeat(2000)), 'acked');
    assert.deepEqual((await getDlq(d.httpUrl)).map((r) => r.reason), ['payload-too-large']);
    assert.equal(await tryPublish(a, 'sensors/a/t/x/y', '1'), 'closed');
    assert.equal(await refusals(d, 'topic-too-deep'), 1);

    const b = await connected(t, d.brokerUrl);
    let outcome: 'acked' | 'closed' = 'acked';
    for (let i = 0; i < 200 && outcome === 'acked'; i++) outcome = await tryPublish(b, 'sensors/b/t', String(i));
    assert.equal(outcome, 'closed', 'a flood past publishRate is cut off');
    assert.ok((await refusals(d, 'rate-limited')) >= 1);

    const held = [await connected(t, d.brokerUrl), await connected(t, d.brokerUrl), await connected(t, d.brokerUrl)];
    assert.equal(held.length, 3);
    const fourth = await attempt(d.brokerUrl, { connectTimeout: 2_000 });
    assert.ok('refused' in fourth, 'the fourth connection is refused');
    assert.ok((await refusals(d, 'too-many-connections')) >= 1);
  });

  it('serves TLS: a client trusting the CA connects, one that does not is refused, a client certificate signs its CN in', async (t) => {
    const certs = await makeCerts();
    t.after(() => certs.cleanup());
    const tlsPort = await freePort();
    const d = await daemon(t, {
      broker: {
        allowAnonymous: false,
        users: [{ username: 'edgebus-test-client', publish: ['sensors/{username}/#'] }, { username: 'ops', passwordHash: opsHash }],
        tls: { port: tlsPort, cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
      },
    });
    const url = `mqtts://127.0.0.1:${tlsPort}`;
    const ca = [readFileSync(certs.ca)];
    const untrusted = await attempt(url, { username: 'ops', password: 'ops-secret', rejectUnauthorized: true });
    assert.ok('refused' in untrusted && /self[- ]signed|unable to verify|certificate/i.test(untrusted.refused), JSON.stringify(untrusted));
    await connected(t, url, { username: 'ops', password: 'ops-secret', ca, rejectUnauthorized: true });
    const byCert = await connected(t, url, { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), rejectUnauthorized: true });
    assert.equal(await tryPublish(byCert, 'sensors/edgebus-test-client/t', '{"value": 1}'), 'acked');
    await waitFor(async () => (await getEvents(d.httpUrl, { source: 'edgebus-test-client' })).length === 1, { message: 'the certificate user\'s reading' });
    assert.equal(await tryPublish(byCert, 'sensors/someone-else/t', '{"value": 1}'), 'closed', 'its CN\'s rules apply');
    const noCertNoPassword = await attempt(url, { ca, rejectUnauthorized: true });
    assert.ok('refused' in noCertNoPassword, 'no certificate and no password: anonymous, refused');
  });

  it('requires the HTTP token when one is set, and logs refusals without the password', async (t) => {
    const tmp = tempDir();
    t.after(() => tmp.cleanup());
    const file = writeConfig(tmp.dir, { http: { token: 's3cret-token' }, broker: { users: users() }, log: { level: 'info', format: 'json' } });
    const child = await spawnDaemon(file);
    t.after(() => {
      child.child.kill('SIGKILL');
    });
    assert.equal((await fetch(`${child.httpUrl}/api/status`)).status, 401);
    assert.equal((await fetch(`${child.httpUrl}/api/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${child.httpUrl}/api/status`, { headers: { authorization: 'Bearer s3cret-token' } })).status, 200);
    assert.equal((await fetch(`${child.httpUrl}/healthz`)).status, 200, 'health needs no token');
    const wrong = await attempt(child.brokerUrl, { username: 'dev-1', password: 'hunter2-wrong' });
    assert.ok('refused' in wrong);
    await waitFor(() => child.output().includes('bad-credentials'), { message: 'the refusal logged' });
    assert.ok(!child.output().includes('hunter2-wrong'), 'the password is never logged');
    assert.ok(!child.output().includes('s3cret-token'), 'nor the token');
  });
});
