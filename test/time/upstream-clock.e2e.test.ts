// Store-and-forward while the wall clock steps (time/ in the README): the daemon runs under
// libfaketime, the cloud is a real mosquitto the test stops and starts.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { startCollector } from '../helpers/collector.js';
import { assertCheap, cost, DAY, openScenario, publishAll, stepClock, type Scenario } from '../helpers/clock-steps.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'edgebus/test-gw/events';
const FAST_RETRY = { initialDelay: '100ms', maxDelay: '500ms', jitter: false };

type Corrected = EdgeEvent & { correctedTimestamp: string };

async function connected(httpUrl: string): Promise<boolean> {
  return ((await getStatus(httpUrl)) as { upstream: { connected: boolean } }).upstream.connected;
}

describe('the link is down, the wall clock steps thirty days, the link returns', () => {
  let s: Scenario;
  before(async () => {
    s = await openScenario({
      upstream: true,
      config: ({ cloudUrl }) => ({
        store: { retention: '1h' },
        schedules: { prune: '*/2 * * * * *', heartbeat: '0 0 1 1 *' },
        upstream: { url: cloudUrl, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 200, linger: '20ms' } },
      }),
    });
    await waitFor(() => connected(s.d.httpUrl), { message: 'upstream connected' });
  });
  after(() => s.close());

  it('forwards every reading with a ttl, none counted expired, none pruned, each with its corrected time', async () => {
    const { d, client, fake, broker } = s;
    await s.cloud!.close();
    await broker!.stop();
    await waitFor(async () => !(await connected(d.httpUrl)), { message: 'upstream down' });
    const readings = Array.from({ length: 1_000 }, (_, i) => ({ id: `t-${i + 1}`, value: i, ttl: '1h' }));
    await publishAll(client, 'sensors/truck-1/temperature', readings);
    const { value: cloud, ...spent } = await cost(d, async () => {
      await stepClock(fake, d.httpUrl, 30 * DAY);
      await broker!.start();
      const cloud = (s.cloud = await startCollector(broker!.url, TOPIC));
      await waitFor(() => new Set(cloud.events().filter((e) => e.source === 'truck-1').map((e) => e.id)).size === 1_000, { timeout: 30_000, message: '1,000 readings upstream' });
      return cloud;
    });
    assertCheap(spent, 'from the step to the backlog drained');
    const metrics = await getMetrics(d.httpUrl);
    assert.equal(metricValue(metrics, 'edgebus_upstream_expired_total'), 0, 'a ttl of an hour has not passed in seconds');
    assert.equal(metricValue(metrics, 'edgebus_store_pruned_total') ?? 0, 0);
    assert.equal((await getEvents(d.httpUrl, { source: 'truck-1' })).length, 1_000, 'still in the local log');
    const got = cloud.events() as Corrected[];
    const step = got.find((e) => e.payload.kind === 'clock-step')!;
    assert.ok(step, 'the clock-step went upstream');
    assert.ok(got.indexOf(step) < got.findLastIndex((e) => e.source === 'truck-1'), 'the step (high priority) overtook the backlog it corrects');
    for (const e of got.filter((x) => x.source === 'truck-1')) {
      assert.equal(Date.parse(e.correctedTimestamp) - Date.parse(e.timestamp), step.payload.delta, `${e.id}: original and corrected time both sent`);
    }
  });
});

describe('a step back while a partial batch lingers, then a month back', () => {
  let s: Scenario;
  before(async () => {
    s = await openScenario({
      upstream: true,
      prepare: (dir) => {
        mkdirSync(join(dir, 'rules'));
        writeFileSync(join(dir, 'rules', 'beat-lost.yaml'), [
          'id: beat-lost',
          'match: { type: DeviceData, sensor: beat }',
          'groupBy: source',
          'absent: 3s',
          'emit: { severity: warning, message: "{group} went quiet" }',
          '',
        ].join('\n'));
      },
      config: ({ cloudUrl }) => ({ upstream: { url: cloudUrl, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 500, linger: '2s' } } }),
    });
    await waitFor(() => connected(s.d.httpUrl), { message: 'upstream connected' });
  });
  after(() => s.close());

  it('sends the lingering batch when its linger is up on the monotonic clock', async () => {
    const { client, fake, cloud } = { ...s, cloud: s.cloud! };
    await publishAll(client, 'sensors/van-1/temperature', Array.from({ length: 29 }, (_, i) => ({ id: `l-${i}`, value: i })));
    fake.offset(-3_600_000);
    await waitFor(() => cloud.events().filter((e) => e.source === 'van-1').length === 29, { message: 'the 29 readings upstream' });
  });

  it('after a month back: no timer overflows, and an absence is raised once, when it is due', async () => {
    const { d, client, fake, cloud } = { ...s, cloud: s.cloud! };
    await publishAll(client, 'sensors/van-2/beat', [{ id: 'beat-1', value: 1 }]);
    fake.offset(-30 * DAY);
    await publishAll(client, 'sensors/van-2/temperature', [{ id: 'after-1', value: 1 }]);
    await waitFor(() => cloud.events().some((e) => e.id === 'after-1'), { message: 'a reading after the step upstream' });
    const alerts = await waitFor(async () => {
      const found = (await getEvents(d.httpUrl, { type: 'Alert' })).filter((e) => e.payload.rule === 'beat-lost');
      return found.length ? found : undefined;
    }, { message: 'the absence alert' });
    assert.equal(alerts.length, 1);
    const [beat] = await getEvents(d.httpUrl, { fromId: 'beat-1', limit: 1, corrected: 'true' }) as Corrected[];
    const [alert] = await getEvents(d.httpUrl, { fromId: alerts[0].id, limit: 1, corrected: 'true' }) as Corrected[];
    const silence = Date.parse(alert.correctedTimestamp) - Date.parse(beat.correctedTimestamp);
    assert.ok(silence >= 3_000, `raised after ${silence} ms of silence on the gateway clock, not before the 3 s`);
    assert.doesNotMatch(d.output(), /TimeoutOverflowWarning/);
  });
});
