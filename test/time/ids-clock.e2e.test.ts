// Duplicates and ids while the wall clock steps (time/ in the README): the dedup window
// and a device's sequence run on the gateway clock, id records are keyed by seq, and the
// ids the gateway makes sort in log order across restarts with the clock behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { EventStore, storeDir } from '../../src/store/event-store.js';
import { getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { parseNdjson } from '../helpers/api.js';
import { assertCheap, cost, DAY, openScenario, publishAll, stepClock, stopDaemon, type Scenario } from '../helpers/clock-steps.js';
import { runCli, spawnDaemon } from '../helpers/daemon.js';
import { readStoredEvents } from '../helpers/log.js';
import { connect, endAll } from '../helpers/mqtt.js';

const duplicates = async (httpUrl: string) => metricValue(await getMetrics(httpUrl), 'edgebus_events_duplicate_total') ?? 0;

describe('the dedup window and device sequences across steps of the wall clock', () => {
  let s: Scenario;
  before(async () => {
    s = await openScenario({ config: () => ({ store: { dedupWindow: '1h' } }) });
  });
  after(() => s.close());

  it('after a two-day step, ids and seqs sent again seconds later are duplicates, and no new epoch opens', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => ({ id: `dd-${i}`, value: i }));
    // Resent seqs past the first (a seq of 0 or 1 again is a device that restarted counting).
    const seqs = Array.from({ length: 10 }, (_, i) => ({ seq: i + 11, value: i }));
    const { d, client, fake } = s;
    await publishAll(client, 'sensors/gh-3/temperature', ids);
    await publishAll(client, 'sensors/gh-4/temperature', seqs);
    const before = await duplicates(d.httpUrl);
    assertCheap(await cost(d, async () => {
      await stepClock(fake, d.httpUrl, 2 * DAY);
      await publishAll(client, 'sensors/gh-3/temperature', ids);
      await publishAll(client, 'sensors/gh-4/temperature', seqs);
    }));
    assert.equal(await duplicates(d.httpUrl), before + 110);
    assert.equal((await getEvents(d.httpUrl, { source: 'gh-3' })).length, 100);
    assert.deepEqual((await getEvents(d.httpUrl, { source: 'gh-4' })).map((e) => e.id), seqs.map((s) => `gh-4:0:${s.seq}`));
    const resets = (await getEvents(d.httpUrl, { type: 'SystemEvent' })).filter((e) => e.payload.kind === 'sequence-reset');
    assert.deepEqual(resets, [], 'the seqs were resent seconds later on the gateway clock, not two days');
  });

  it('after an hour back, the id records stay one small key per commit', async () => {
    await stepClock(s.fake, s.d.httpUrl, 2 * DAY - 3_600_000);
    await publishAll(s.client, 'sensors/gh-5/temperature', Array.from({ length: 2_000 }, (_, i) => ({ id: `back-${i}`, value: i })));
    await stopDaemon(s.d);
    const store = await EventStore.open(storeDir(`${s.dir}/data`));
    try {
      const keys = await store.idGroups.keys().all();
      assert.ok(keys.length > 0);
      const longest = Math.max(...keys.map((k) => k.length));
      assert.equal(longest, 16, 'a seq key, whatever the clock did');
      let ids = 0;
      for (const value of await store.idGroups.values().all()) ids += value.split('\n').length;
      assert.equal(ids, 100 + 2_000, 'every id recorded once');
    } finally {
      await store.close();
    }
  });
});

describe('gateway-made ids across a restart with the wall clock behind, and a step back while running', () => {
  let s: Scenario;
  before(async () => {
    s = await openScenario();
    await stopDaemon(s.d);
  });
  after(() => s.close());

  /** Readings without id or seq: the gateway makes their ids. */
  async function run(prefix: string, n: number, midway?: (httpUrl: string) => Promise<unknown>): Promise<void> {
    const d = (s.d = await spawnDaemon(s.config, s.fake.env));
    const client = await connect(d.brokerUrl);
    try {
      const body = (i: number) => ({ value: i, note: `${prefix}-${i}` });
      await publishAll(client, 'sensors/tas-1/power', Array.from({ length: n / 2 }, (_, i) => body(i)));
      if (midway) await midway(d.httpUrl);
      await publishAll(client, 'sensors/tas-1/power', Array.from({ length: n / 2 }, (_, i) => body(n / 2 + i)));
    } finally {
      await endAll([client]);
    }
    await stopDaemon(d);
  }

  it('sort in log order and are found by --from-id, every one', async () => {
    await run('first', 100);
    s.fake.offset(-DAY);
    await run('second', 100, (httpUrl) => stepClock(s.fake, httpUrl, -DAY - 3_600_000));
    const all = await readStoredEvents(`${s.dir}/data`);
    const steps = all.filter((e) => e.payload.kind === 'clock-step').map((e) => Math.round(Number(e.payload.delta) / 60_000));
    assert.deepEqual(steps, [-24 * 60, -60], 'the day back while the daemon was down is recorded at start, the hour back while it ran');
    const events: EdgeEvent[] = all.filter((e) => e.source === 'tas-1');
    assert.equal(events.length, 200);
    const ids = events.map((e) => e.id);
    assert.deepEqual([...ids].sort(), ids, 'ULIDs in log order');
    for (const e of [events[0], events[49], events[50], events[99], events[100], events[149], events[150], events[199]]) {
      const out = await runCli(['events', '--config', s.config, '--from-id', e.id, '--limit', '1', '--json']);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(parseNdjson<EdgeEvent>(out.stdout)[0]?.seq, e.seq, `--from-id ${e.id}`);
    }
  });
});
