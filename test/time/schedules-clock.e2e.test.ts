// Jobs and limits while the wall clock steps back (time/ in the README): the scheduler
// re-plans instead of sleeping until the old slot comes round, and the per-client publish
// rate refills on the gateway clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { assertCheap, cost, jobRuns, openScenario, stepClock, systemEvents, type Scenario } from '../helpers/clock-steps.js';
import { closed } from '../helpers/mqtt.js';
import { waitFor } from '../helpers/wait.js';

/** A sensor's sampling period: pacing the readings, not waiting for anything. */
const SAMPLE_MS = 100;

describe('jobs and the publish rate when the wall clock steps back', () => {
  let s: Scenario;
  const heartbeats = async () => (await systemEvents(s.d.httpUrl, 'heartbeat')).length;

  before(async () => {
    s = await openScenario({ config: () => ({ schedules: { prune: '*/2 * * * * *', heartbeat: '*/2 * * * * *' }, broker: { limits: { publishRate: 20 } } }) });
  });
  after(() => s.close());

  it('an hour back: the heartbeat and the prune job go on at their next slots', async () => {
    const { d, fake } = s;
    await waitFor(async () => (await heartbeats()) >= 1, { message: 'a first heartbeat' });
    const spent = await cost(d, async () => {
      await stepClock(fake, d.httpUrl, -3_600_000);
      const beats = await heartbeats();
      const prunes = await jobRuns(d.httpUrl, 'prune');
      await waitFor(async () => (await heartbeats()) >= beats + 3, { timeout: 20_000, message: 'heartbeats after the step back' });
      await waitFor(async () => (await jobRuns(d.httpUrl, 'prune')) >= prunes + 3, { timeout: 20_000, message: 'prune runs after the step back' });
    });
    assertCheap(spent);
  });

  it('two seconds back: a client within its publish rate is not cut off, and its QoS 0 readings are kept', async () => {
    const { d, client, fake } = s;
    const gone = closed(client);
    let cut = false;
    void gone.then(() => (cut = true));
    const sent: string[] = [];
    for (let i = 0; i < 40 && !cut; i++) {
      const id = `q0-${i}`;
      await client.publishAsync('sensors/fan-1/speed', JSON.stringify({ id, value: i }), { qos: 0 });
      sent.push(id);
      if (i === 15) fake.offset(-3_600_000 - 2_000);
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    assert.equal(cut, false, 'the client is still connected');
    await waitFor(async () => (await getEvents(d.httpUrl, { source: 'fan-1' })).length === sent.length, { message: `all ${sent.length} QoS 0 readings stored` });
    assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_broker_refusals_total', { reason: 'rate-limited' }) ?? 0, 0);
  });
});
