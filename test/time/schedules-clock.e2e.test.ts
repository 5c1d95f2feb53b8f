// Jobs and limits while the wall clock steps back (time/ in the README): the scheduler
// re-plans instead of sleeping until the old slot comes round, and the per-client publish
// rate refills on the gateway clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { fakeClock, type FakeClock } from '../helpers/faketime.js';
import { closed, connect, endAll, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** A sensor's sampling period: pacing the readings, not waiting for anything. */
const SAMPLE_MS = 100;

describe('jobs and the publish rate when the wall clock steps back', () => {
  const tmp = tempDir();
  let fake: FakeClock;
  let d: ChildDaemon;
  let client: MqttClient;
  let steps = 0;

  const jobRuns = async (job: string) => metricValue(await getMetrics(d.httpUrl), 'edgebus_jobs_total', { job, result: 'ok' }) ?? 0;
  const heartbeats = async () => (await getEvents(d.httpUrl, { type: 'SystemEvent' })).filter((e) => e.payload.kind === 'heartbeat').length;
  async function step(offset: number): Promise<void> {
    fake.offset(offset);
    steps++;
    await waitFor(async () => (await getEvents(d.httpUrl, { type: 'SystemEvent' })).filter((e) => e.payload.kind === 'clock-step').length === steps, { message: `clock step ${steps}` });
  }

  before(async () => {
    fake = fakeClock(tmp.dir);
    d = await spawnDaemon(writeConfig(tmp.dir, {
      schedules: { prune: '*/2 * * * * *', heartbeat: '*/2 * * * * *' },
      broker: { limits: { publishRate: 20 } },
    }), fake.env);
    client = await connect(d.brokerUrl);
  });
  after(async () => {
    await endAll([client]);
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGTERM');
      await d.exited;
    }
    tmp.cleanup();
  });

  it('an hour back: the heartbeat and the prune job go on at their next slots', async () => {
    await waitFor(async () => (await heartbeats()) >= 1, { message: 'a first heartbeat' });
    await step(-3_600_000);
    const beats = await heartbeats();
    const prunes = await jobRuns('prune');
    await waitFor(async () => (await heartbeats()) >= beats + 3, { timeout: 20_000, message: 'heartbeats after the step back' });
    await waitFor(async () => (await jobRuns('prune')) >= prunes + 3, { timeout: 20_000, message: 'prune runs after the step back' });
  });

  it('two seconds back: a client within its publish rate is not cut off, and its QoS 0 readings are kept', async () => {
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
