// Rules while the wall clock steps (time/ in the README): windows, `for` and cooldowns run
// on event time on the gateway clock, so a step neither raises early nor drops fresh readings.
// Each check waits for a marker alert first: alerts are decided in log order, so once the
// marker's alert is stored, every reading before it has been through the rules.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents } from '../helpers/api.js';
import { assertCheap, cost, DAY, openScenario, stepClock, type Scenario } from '../helpers/clock-steps.js';
import { waitFor } from '../helpers/wait.js';

/** A sensor's sampling period: pacing the readings, not waiting for anything. */
const SAMPLE_MS = 300;
type Corrected = EdgeEvent & { correctedTimestamp: string };

const RULES: Record<string, string[]> = {
  sustained: ['match: { type: DeviceData, sensor: temperature }', 'where: { value: { gt: 30 } }', 'groupBy: source', 'for: 6s'],
  cooled: ['match: { type: DeviceData, sensor: heat }', 'where: { value: { gt: 30 } }', 'groupBy: source', 'cooldown: 5m'],
  marker: ['match: { type: DeviceData, sensor: marker }', 'groupBy: source'],
  sliding: ['match: { type: DeviceData, sensor: slide }', 'groupBy: source', 'window: { sliding: 10s }', 'having: { count: { gte: 3 } }'],
  tumbling: ['match: { type: DeviceData, sensor: tumble }', 'groupBy: source', 'window: { tumbling: 10m }', 'having: { count: { gte: 3 } }'],
  held: ['match: { type: DeviceData, sensor: hold }', 'where: { value: { gt: 30 } }', 'groupBy: source', 'for: 4s'],
};

describe('rules across steps of the wall clock', () => {
  let s: Scenario;
  let markers = 0;

  const send = (topic: string, value: number) => s.client.publishAsync(topic, JSON.stringify({ value }), { qos: 1 });
  const alerts = async (rule: string): Promise<Corrected[]> =>
    ((await getEvents(s.d.httpUrl, { type: 'Alert', corrected: 'true' })) as Corrected[]).filter((e) => e.payload.rule === rule && e.payload.state === 'raised');
  /** Every reading sent so far has been through the rules. */
  async function settled(): Promise<void> {
    const source = `marker-${++markers}`;
    await send(`sensors/${source}/marker`, 1);
    await waitFor(async () => (await alerts('marker')).some((a) => a.payload.group === source), { message: `the alert of ${source}` });
  }
  /** Hot readings every 300 ms until stop() is called. */
  function keepHot(topic: string): { stop: () => Promise<void> } {
    let on = true;
    const loop = (async () => {
      while (on) {
        await send(topic, 35);
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    })();
    return { stop: async () => { on = false; await loop; } };
  }

  before(async () => {
    s = await openScenario({
      prepare: (dir) => {
        mkdirSync(join(dir, 'rules'));
        for (const [id, lines] of Object.entries(RULES)) {
          writeFileSync(join(dir, 'rules', `${id}.yaml`), [`id: ${id}`, ...lines, 'emit: { severity: warning, message: "{rule} {group}" }', ''].join('\n'));
        }
      },
    });
  });
  after(() => s.close());

  it('a day forward: `for: 6s` waits six seconds of gateway time, and a five-minute cooldown holds', async () => {
    const { d, fake } = s;
    await send('sensors/oven-1/heat', 35);
    await send('sensors/oven-1/heat', 20);
    await settled();
    assert.equal((await alerts('cooled')).length, 1);

    const hot = keepHot('sensors/kiln-1/temperature');
    await waitFor(async () => (await getEvents(d.httpUrl, { source: 'kiln-1' })).length >= 5, { message: 'a second of hot readings' });
    const { value: [raised], ...spent } = await cost(d, async () => {
      await stepClock(fake, d.httpUrl, DAY);
      return waitFor(async () => {
        const found = await alerts('sustained');
        return found.length ? found : undefined;
      }, { timeout: 20_000, message: 'the sustained alert' });
    });
    assertCheap(spent);
    await hot.stop();
    const ids = raised.payload.events as string[];
    const [first] = (await getEvents(d.httpUrl, { fromId: ids[0], limit: 1, corrected: 'true' })) as Corrected[];
    const [last] = (await getEvents(d.httpUrl, { fromId: ids[ids.length - 1], limit: 1, corrected: 'true' })) as Corrected[];
    const held = Date.parse(last.correctedTimestamp) - Date.parse(first.correctedTimestamp);
    assert.ok(held >= 6_000, `raised after ${held} ms of hot readings, not before the 6 s`);

    // Seconds after the last raise on the gateway clock, a day after it on the wall clock.
    await send('sensors/oven-1/heat', 36);
    await settled();
    assert.equal((await alerts('cooled')).length, 1, 'the cooldown of five minutes still holds');
  });

  it('an hour back: sliding and tumbling windows and `for` keep the fresh readings and raise', async () => {
    const { d, fake } = s;
    // A tumbling bucket must not end between the readings: start well inside one.
    await waitFor(() => Date.now() % 600_000 < 590_000, { timeout: 15_000, message: 'a tumbling bucket with room left' });
    await send('sensors/belt-1/slide', 1);
    await send('sensors/belt-1/slide', 2);
    await send('sensors/belt-1/tumble', 1);
    await send('sensors/belt-1/tumble', 2);
    await settled();
    // The run of hot readings starts just before the step and goes on across it.
    const hot = keepHot('sensors/press-1/hold');
    await stepClock(fake, d.httpUrl, DAY - 3_600_000);
    await send('sensors/belt-1/slide', 3);
    await send('sensors/belt-1/tumble', 3);
    await waitFor(async () => (await alerts('held')).length === 1, { timeout: 20_000, message: 'the `for: 4s` alert across the step' });
    await hot.stop();
    await settled();
    assert.equal((await alerts('sliding')).length, 1, 'three readings within 10 s of gateway time');
    assert.equal((await alerts('tumbling')).length, 1, 'three readings in one bucket');
  });
});
