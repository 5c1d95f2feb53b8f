// The rules' rebuild after a start runs while readings keep arriving: every event of the
// log reaches the engine exactly once — replayed from the log or evaluated live — so a
// window counts what it would have counted without the restart.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { CommandDelivery } from '../../src/pipeline/command-delivery.js';
import { RulesService } from '../../src/rules/rules-service.js';
import { draftOn, seqDraft } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig, range, readAll } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const T0 = 1_700_000_000_000;
// A window holds at most 10,000 events: the rebuild reads 20,000, of which the rule counts
// the last 8,000 (one device's temperature), then the 1,000 that arrive during it.
const NOISE = 12_000;
const BEFORE = 20_000;
const AFTER = 1_000;
const THRESHOLD = 8_500;

const RULE = `
id: busy
match: { type: DeviceData, sensor: temperature }
groupBy: source
window: { sliding: 10m }
having: { count: { gte: ${THRESHOLD} } }
emit: { severity: info, message: "{group}: {count}" }
`;

it('counts every event once when readings arrive during the rebuild', async (t) => {
  const dir = tempDirFor(t);
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(join(rulesDir, 'busy.yaml'), RULE);
  const clock = { now: T0 + BEFORE + AFTER };
  const rig = await openRig(dir, clock);
  t.after(() => rig.close());
  await Promise.all(range(1, NOISE).map((i) => rig.appender.append(draftOn('sensors/noise/humidity', { value: 50, seq: i }, T0 + i))));
  await Promise.all(range(NOISE + 1, BEFORE).map((i) => rig.appender.append(seqDraft('dev', i - NOISE, T0 + i))));
  assert.equal(rig.appender.committedSeq, BEFORE);

  let live = 0;
  rig.bus.on('count', 'rulesEvaluated', (r) => (live += r.events));
  const { log, lines } = memoryLogger('info');
  const published: string[] = [];
  const publish = async (topic: string): Promise<void> => void published.push(topic);
  const rules = new RulesService({
    rulesDir, gatewayId: 'gw', store: rig.store, bus: rig.bus, appender: rig.appender, log, publish,
    commands: new CommandDelivery({ store: rig.store, publish, sync: true, log }),
  });
  await rules.start();
  // At once, while the rebuild reads the first 20,000: each chunk commits before the next.
  for (let from = BEFORE + 1; from <= BEFORE + AFTER; from += 50) {
    await Promise.all(range(from, from + 49).map((i) => rig.appender.append(seqDraft('dev', i - NOISE, T0 + i))));
  }

  const alerts = await waitFor(async () => {
    const stored = await readAll(rig.store, { type: 'Alert' });
    return stored.length > 0 && stored;
  }, { message: 'the window alert' });
  const rebuiltLine = await waitFor(() => lines.map((l) => JSON.parse(l) as { rebuiltFrom?: number }).find((l) => l.rebuiltFrom !== undefined), { message: 'the rebuild to end' });
  await rules.stop();

  const total = rig.appender.committedSeq;
  assert.equal(total, BEFORE + AFTER + 1, 'the readings and one alert');
  assert.equal(rebuiltLine.rebuiltFrom! + live, total, `each event once: ${rebuiltLine.rebuiltFrom} replayed + ${live} live`);
  assert.equal(alerts.length, 1);
  const [alert] = alerts;
  // Decided by the 8,500th reading of dev: one counted twice would raise it sooner, one missed later.
  assert.equal(alert.id, `alert:busy:dev:${NOISE + THRESHOLD}:raised`);
  assert.deepEqual((alert.payload as { aggregates: unknown }).aggregates, { count: THRESHOLD });
  assert.deepEqual(published, ['alerts/busy/dev']);
  t.diagnostic(`after the start: ${rebuiltLine.rebuiltFrom! - BEFORE} events replayed from the log, ${live} evaluated live`);
});
