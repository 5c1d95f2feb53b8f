// The recovery verbs against a real upstream (SPEC §1): `dlq list|retry|purge` for events
// the broker refused, and `replay --from … --to upstream`. mosquitto refuses by ACL (PUBACK
// 0x87, not authorized) until its ACL file is fixed and it is restarted.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getDlq, getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { runCli, startDaemon, writeConfig, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'edgebus/test-gw/events';

describe('dlq and replay verbs', () => {
  let tmp: ReturnType<typeof tempDir>;
  let acl: string;
  let broker: UpstreamBroker;
  let d: RunningDaemon;
  let configFile: string;
  let device: MqttClient;
  let cloud: Collector;

  before(async () => {
    tmp = tempDir();
    acl = join(tmp.dir, 'acl');
    writeFileSync(acl, 'topic read edgebus/#\n');
    broker = await startUpstreamBroker({ extraConfig: [`acl_file ${acl}`] });
    if (broker.kind !== 'mosquitto') assert.fail('ACL refusals need an MQTT 5 broker: install mosquitto');
    const overrides = {
      // No heartbeat: its SystemEvent would be refused (and dead-lettered) too.
      schedules: { heartbeat: '0 0 1 1 *' },
      upstream: { url: broker.url, retry: { initialDelay: '20ms', maxDelay: '100ms', maxAttempts: 2 }, batch: { maxEvents: 10, linger: '10ms' } },
    };
    configFile = writeConfig(tmp.dir, overrides);
    d = await startDaemon(tmp.dir, overrides);
    device = await connect(d.brokerUrl);
    cloud = await startCollector(broker.url, TOPIC);
  });
  after(async () => {
    await device.endAsync();
    await cloud.close();
    await d.stop();
    await broker.stop();
    tmp.cleanup();
  });

  const cli = (...args: string[]) => runCli([...args, '--config', configFile], { cwd: tmp.dir });

  it('dead-letters what upstream keeps refusing, lists it, and re-drives it once upstream accepts', async () => {
    for (let i = 1; i <= 3; i++) await publish(device, 'sensors/acl-1/temperature', { value: i, id: `r-${i}` });
    const dlq = await waitFor(async () => {
      const entries = (await getDlq(d.httpUrl)).filter((r) => r.reason === 'upstream-refused');
      return entries.length === 3 ? entries : null;
    }, { message: 'three events dead-lettered' });
    for (const e of dlq) assert.match(e.detail, /0x87/);
    await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_backlog_events') === 0, { message: 'the cursor moved on' });

    const listed = await cli('dlq', 'list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim().split('\n').filter((l) => l.includes('upstream-refused')).length, 3);

    // Still refused: the entries stay, exit 2 when named ids could not be re-driven.
    const refused = await cli('dlq', 'retry', dlq[0].id);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stdout, /kept .*refused it again/);

    writeFileSync(acl, 'topic readwrite edgebus/#\n');
    await broker.stop();
    await broker.start();
    await cloud.close();
    cloud = await startCollector(broker.url, TOPIC);
    await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 1, { message: 'link back' });

    const retried = await cli('dlq', 'retry');
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(retried.stdout.trim().split('\n').filter((l) => l.startsWith('ok')).length, 3);
    assert.deepEqual(cloud.events().map((e) => e.id).sort(), ['r-1', 'r-2', 'r-3']);
    assert.equal((await getDlq(d.httpUrl)).filter((r) => r.reason === 'upstream-refused').length, 0);
  });

  it('replays stored events upstream from every --from form', async () => {
    await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 1, { message: 'link up' });
    for (let i = 1; i <= 5; i++) await publish(device, 'sensors/rp-1/temperature', { value: i, id: `rp-${i}` });
    await cloud.waitForSeqs((await getEvents(d.httpUrl, { source: 'rp-1' })).map((e) => e.seq));
    await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_backlog_events') === 0, { message: 'all acknowledged' });
    const stored = await getEvents(d.httpUrl, { limit: 10_000 });
    const count = (id: string) => cloud.events().filter((e) => e.id === id).length;

    const fromId = await cli('replay', '--from', 'id:rp-4', '--to', 'upstream');
    assert.equal(fromId.code, 0, fromId.stderr);
    const sentFromId = stored.filter((e) => e.seq >= stored.find((s) => s.id === 'rp-4')!.seq).length;
    assert.equal(fromId.stdout.trim(), `replayed ${sentFromId} events to upstream`);
    await waitFor(() => count('rp-5') === 2, { message: 'rp-5 replayed' });
    assert.equal(count('rp-3'), 1, 'nothing before the id');

    const fromSeq = await cli('replay', '--from', `seq:${stored.at(-1)!.seq}`);
    assert.equal(fromSeq.code, 0, fromSeq.stderr);
    assert.equal(fromSeq.stdout.trim(), 'replayed 1 events to upstream');

    const fromTime = await cli('replay', '--from', `time:${new Date(Date.now() + 60_000).toISOString()}`);
    assert.equal(fromTime.stdout.trim(), 'replayed 0 events to upstream');
    const checkpoint = await cli('replay', '--from', 'checkpoint');
    assert.equal(checkpoint.stdout.trim(), 'replayed 0 events to upstream', 'nothing is past the checkpoint');

    const all = await cli('replay', '--from', 'all');
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim(), `replayed ${stored.length} events to upstream`);
    await waitFor(() => count('rp-1') === 2, { message: 'rp-1 replayed' });

    for (const bad of [['--from', 'seq:x'], ['--from', 'yesterday'], ['--from', 'id:no-such-event'], ['--from', 'all', '--to', 'nowhere'], []]) {
      const r = await cli('replay', ...bad);
      assert.equal(r.code, 1, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--from|--to/);
    }
  });

  it('purges named entries and then all, with or without the daemon', async () => {
    await publish(device, 'sensors/bad-1/temperature', 'not a number');
    await publish(device, 'sensors/bad-2/temperature', '{broken');
    const entries = await waitFor(async () => {
      const e = await getDlq(d.httpUrl);
      return e.length >= 2 ? e : null;
    }, { message: 'rejected payloads' });
    const one = await cli('dlq', 'purge', entries[0].id);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, /purged 1 entry/);
    assert.equal((await getDlq(d.httpUrl)).length, entries.length - 1);
    const rest = await cli('dlq', 'purge');
    assert.match(rest.stderr, new RegExp(`purged ${entries.length - 1} entr`));
    assert.equal((await getDlq(d.httpUrl)).length, 0);
    assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_dlq_events'), 0);
  });
});
