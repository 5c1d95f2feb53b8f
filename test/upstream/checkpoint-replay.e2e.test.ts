// `replay --from checkpoint:NAME` against a real daemon and mosquitto: a named checkpoint
// replays exactly the events after it, upstream or through the rules; `checkpoint:upstream`
// is the forwarder's cursor, which stays behind while the link is down.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventStore, storeDir } from '../../src/store/event-store.js';
import { pruneForwarded } from '../../src/store/retention.js';
import { getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { startCollector, type Collector } from '../helpers/collector.js';
import { runCli, startDaemon, writeConfig, type ConfigYaml, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { range } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'edgebus/test-gw/events';

describe('replay --from checkpoint:NAME', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: UpstreamBroker;
  let d: RunningDaemon;
  let configFile: string;
  let device: MqttClient;
  let cloud: Collector;
  let overrides: ConfigYaml;

  before(async () => {
    tmp = tempDir();
    broker = await startUpstreamBroker();
    overrides = { upstream: { url: broker.url, retry: { initialDelay: '20ms', maxDelay: '100ms' }, batch: { maxEvents: 10, linger: '10ms' } } };
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
  const drained = () => waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_backlog_events') === 0, { message: 'everything acknowledged' });

  async function readings(prefix: string, n: number): Promise<number[]> {
    for (let i = 1; i <= n; i++) await publish(device, `sensors/${prefix}/temperature`, { value: 20 + i, id: `${prefix}-${i}` });
    return waitFor(async () => {
      const seqs = (await getEvents(d.httpUrl, { source: prefix })).map((e) => e.seq);
      return seqs.length === n ? seqs : null;
    }, { message: `${n} readings of ${prefix} stored` });
  }

  async function replay(...args: string[]): Promise<string> {
    const r = await cli('replay', ...args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warning');
    return r.stdout.trim();
  }

  it('replays exactly the events after a named checkpoint, upstream and through the rules', async () => {
    await cloud.waitForSeqs(await readings('before', 3));
    await drained();
    const set = await cli('checkpoint', 'set', 'mark');
    assert.equal(set.code, 0, set.stderr);
    const mark = Number(/at seq (\d+)/.exec(set.stdout)![1]);
    const later = await readings('after', 3);
    await cloud.waitForSeqs(later);
    await drained();
    const stored = await getEvents(d.httpUrl, { limit: 10_000 });
    const last = stored.at(-1)!.seq;
    assert.ok(mark < later[0], 'the checkpoint is before the later readings');

    const arrivedBefore = cloud.events().length;
    assert.equal(await replay('--from', 'checkpoint:mark', '--to', 'upstream'), `replayed ${last - mark} events to upstream`);
    // New events (none are expected) would have seqs past `last`: they are not the replay's.
    const replayed = () => cloud.events().slice(arrivedBefore).filter((e) => e.seq <= last);
    await waitFor(() => replayed().length >= last - mark, { message: 'the replayed events upstream' });
    assert.deepEqual(replayed().map((e) => e.seq), range(mark + 1, last), 'each event after the checkpoint once, in order, none before it');
    assert.deepEqual(replayed().filter((e) => e.source === 'after').map((e) => e.id), ['after-1', 'after-2', 'after-3']);

    assert.equal(await replay('--from', 'checkpoint:upstream', '--to', 'upstream'), 'replayed 0 events to upstream', 'upstream has everything');
    assert.equal(await replay('--from', 'checkpoint:mark', '--to', 'rules'), `replayed ${last - mark} events to rules`);
  });

  it('takes `checkpoint:upstream` as the forwarder\'s cursor, behind the log while the link is down', async () => {
    await drained();
    const forwarded = (await getEvents(d.httpUrl, { limit: 10_000 })).at(-1)!.seq;
    await broker.stop();
    await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_upstream_connected') === 0, { message: 'link down' });
    const waiting = await readings('offline', 4);
    const last = waiting.at(-1)!;

    const list = await cli('checkpoint', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const upstream = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; seq: number; after: number }).find((v) => v.name === 'upstream');
    assert.deepEqual(upstream && [upstream.seq, upstream.after], [forwarded, last - forwarded]);

    assert.equal(await replay('--from', 'checkpoint:upstream', '--to', 'rules'), `replayed ${last - forwarded} events to rules`);
    assert.equal(await replay('--from', 'checkpoint', '--to', 'rules'), 'replayed 0 events to rules', 'bare checkpoint: the rules stand at the log\'s end');
    assert.equal(await replay('--from', 'checkpoint:upstream', '--to', 'upstream'), 'replayed 0 events to upstream', 'nothing past the cursor was acknowledged');
  });

  it('replays from the first event held, with a warning, once retention pruned past a checkpoint', async () => {
    const set = await cli('checkpoint', 'set', 'ancient', '--at', 'seq:1');
    assert.equal(set.code, 0, set.stderr);
    const last = (await getEvents(d.httpUrl, { limit: 10_000 })).at(-1)!.seq;
    await d.stop();
    // Retention's own pruning, run on the stopped daemon's store: everything received before
    // the last commit goes.
    const store = await EventStore.open(storeDir(d.config.dataDir));
    try {
      const { throughSeq } = await pruneForwarded(store, { forwardedThrough: last, retentionMs: 0, now: Date.now() + 60_000 });
      assert.ok(throughSeq !== null && throughSeq > 1, `pruned through ${throughSeq}`);
    } finally {
      await store.close();
    }
    d = await startDaemon(tmp.dir, overrides);
    const held = await getEvents(d.httpUrl, { limit: 10_000 });
    const first = held[0].seq;
    assert.ok(first > 2);

    const r = await cli('replay', '--from', 'checkpoint:ancient', '--to', 'rules');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `replayed ${held.length} events to rules`);
    assert.equal(r.stderr, `edgebus: warning: checkpoint ancient is at seq 1, but the log now starts at seq ${first} (seqs 2 to ${first - 1} were pruned): replaying from seq ${first}\n`);
  });
});
