// A Pi's clock lies, for real: the daemon runs as a child under libfaketime, and the test
// steps its wall clock while it runs (time/ in the README). Each scenario asserts that no
// acknowledged event is lost, pruned, expired or stored twice, that the events stamped
// before a step are marked and corrected, and that a step costs no burst of CPU or memory.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, getMetrics, getStatus, metricValue, parseNdjson } from '../helpers/api.js';
import { assertCheap, cost, DAY, jobRuns, openScenario, publishAll, stepClock, stopDaemon, systemEvents, type Scenario } from '../helpers/clock-steps.js';
import { runCli, spawnDaemon, writeConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

type Corrected = EdgeEvent & { correctedTimestamp: string };

const readingsOf = (prefix: string, n: number, extra: object = {}) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, value: 20 + (i % 5), ...extra }));

async function healthy(httpUrl: string): Promise<boolean> {
  const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return res.status === 200;
}


describe('store-only, the wall clock steps forward thirty days', () => {
  let s: Scenario;
  before(async () => {
    s = await openScenario({
      prepare: (dir) => writeFileSync(join(dir, 'synced'), ''),
      config: ({ dir }) => ({
        store: { retention: '1h' },
        schedules: { prune: '*/2 * * * * *', heartbeat: '* * * * * *' },
        clock: { sync: `file:${join(dir, 'synced')}` },
      }),
    });
  });
  after(() => s.close());

  it('prunes nothing received seconds before, runs each job once for the step, and stays responsive', async () => {
    const { d, client, fake } = s;
    await publishAll(client, 'sensors/gh-1/temperature', readingsOf('r', 1_000));
    const prunes = await jobRuns(d.httpUrl, 'prune');
    const { value: step, ...spent } = await cost(d, async () => {
      const step = await stepClock(fake, d.httpUrl, 30 * DAY);
      await waitFor(async () => (await jobRuns(d.httpUrl, 'prune')) >= prunes + 3, { message: 'prune runs after the step' });
      assert.ok(await healthy(d.httpUrl), '/healthz answers 200');
      return step;
    });
    assert.ok(Math.abs(Number(step.payload.delta) - 30 * DAY) < 2_000, `delta ${step.payload.delta}`);
    assert.equal(step.metadata.priority, 'high');
    const readings = await getEvents(d.httpUrl, { source: 'gh-1' });
    assert.equal(readings.length, 1_000, 'every reading is still stored');
    assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_store_pruned_total') ?? 0, 0);
    assertCheap(spent);
    assert.doesNotMatch(d.output(), /missed execution|TimeoutOverflowWarning/);
    // The step corrects what was stamped before it, in the same run of the clock.
    const corrected = parseNdjson<Corrected>(await (await fetch(`${d.httpUrl}/api/events?source=gh-1&limit=3&corrected=1`)).text());
    for (const e of corrected) {
      assert.equal(e.metadata.clock, 'synced');
      assert.equal(Date.parse(e.correctedTimestamp) - Date.parse(e.timestamp), step.payload.delta);
    }
    assert.equal(step.payload.fromSeq, 1);
    assert.equal(Number(step.payload.toSeq), step.seq - 1);
  });
});

describe('a Pi that boots at 1970 and gets its time from NTP when the network returns', () => {
  let s: Scenario;
  let flag = '';
  const configOf = (dir: string, cloudUrl: string | null, prune: string) => ({
    store: { retention: '1h' },
    schedules: { prune, heartbeat: '* * * * *' },
    clock: { sync: `file:${join(dir, 'synced')}` },
    upstream: { url: cloudUrl, clientId: 'pi-1970', batch: { linger: '50ms' } },
  });

  before(async () => {
    // The built-in schedules: a jump from 1970 must not make them catch up fifty-six years of slots.
    s = await openScenario({ start: '1970-01-01T00:00:00Z', upstream: true, config: ({ dir, cloudUrl }) => configOf(dir, cloudUrl, '*/5 * * * *') });
    flag = join(s.dir, 'synced');
  });
  after(() => s.close());

  it('marks what it stamps at 1970 as unsynced, and forwards it with the time it has', async () => {
    const cloud = s.cloud!;
    await publishAll(s.client, 'sensors/gh-2/temperature', readingsOf('b', 500));
    await waitFor(() => cloud.events().filter((e) => e.source === 'gh-2').length >= 500, { message: '500 readings upstream' });
    for (const e of cloud.events().filter((x) => x.source === 'gh-2') as Corrected[]) {
      assert.match(e.timestamp, /^1970-01-01T/);
      assert.equal(e.metadata.clock, 'unsynced');
      assert.equal(e.correctedTimestamp, e.timestamp, 'nothing better is known yet');
    }
  });

  it('records the step to the real time, corrects the 1970 stamps by it, and stays cheap', async () => {
    const { d, cloud } = { d: s.d, cloud: s.cloud! };
    const { value: step, ...spent } = await cost(d, async () => {
      s.fake.real();
      writeFileSync(flag, '');
      const steps = await waitFor(() => {
        const found = cloud.events().filter((e) => e.payload.kind === 'clock-step');
        return found.length ? found : undefined;
      }, { message: 'the clock-step upstream' });
      assert.ok(await healthy(d.httpUrl));
      return steps[0];
    });
    assertCheap(spent);
    assert.ok(Math.abs(Number(step.payload.delta) - (Date.now() - 0)) < 120_000, `delta ${step.payload.delta} is the time since 1970`);
    assert.equal(step.payload.previousQuality, 'unsynced');
    await waitFor(async () => ((await getStatus(d.httpUrl)) as { clock: { quality: string } }).clock.quality === 'synced', { message: 'the clock synchronised, as the OS says' });
    assert.equal(step.payload.fromSeq, 1);
    // Events sent from now on carry the corrected time; the 1970 ones are corrected by the step's delta.
    const corrected = parseNdjson<Corrected>(await (await fetch(`${d.httpUrl}/api/events?source=gh-2&corrected=1`)).text());
    assert.equal(corrected.length, 500);
    for (const e of corrected) {
      assert.match(e.timestamp, /^1970-01-01T/, 'the stored bytes keep what was stamped');
      assert.ok(Math.abs(Date.parse(e.correctedTimestamp) - Date.now()) < 600_000, `${e.correctedTimestamp} is within minutes of now`);
      assert.ok(e.seq <= Number(step.payload.toSeq));
    }
  });

  it('finds every reading with --since 10m, by its corrected time', async () => {
    const out = await runCli(['events', '--config', s.config, '--since', '10m', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const found = parseNdjson<EdgeEvent>(out.stdout).filter((e) => e.source === 'gh-2');
    assert.equal(found.length, 500);
  });

  it('keeps them all through a restart and the retention that follows', async () => {
    await stopDaemon(s.d);
    // Prune every two seconds now, with the same retention of an hour.
    writeConfig(s.dir, configOf(s.dir, s.broker!.url, '*/2 * * * * *'));
    const d = (s.d = await spawnDaemon(s.config, s.fake.env));
    await waitFor(async () => (await jobRuns(d.httpUrl, 'prune')) >= 3, { message: 'three prune runs after the restart' });
    assert.equal((await getEvents(d.httpUrl, { source: 'gh-2' })).length, 500);
    assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_store_pruned_total') ?? 0, 0);
    assert.equal((await systemEvents(d.httpUrl, 'clock-step')).length, 1, 'the restart in the same boot found the clock where it was');
  });
});

