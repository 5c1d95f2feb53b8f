// The outbox on a real store: an alert and the Commands of its actions are stored in one
// group commit, before anything is published; the same decision pushed again (a rebuild, a
// replay) stores and publishes nothing; a Command is published exactly when it is first
// stored.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { CommandDelivery } from '../../src/pipeline/command-delivery.js';
import { AlertOutbox } from '../../src/rules/alert-outbox.js';
import type { AlertIntent } from '../../src/rules/alerts.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { loadRuleFile } from '../../src/rules/loader.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig, readAll } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = 1_700_000_000_000;

const RULE = `
id: hot
where: { value: { gt: 30 } }
groupBy: source
actions:
  - publish: { topic: "cmd/fan-1", payload: { on: true } }
  - publish: { topic: "cmd/siren-1/sound", payload: "loud", qos: 0 }
`;

function decide(yaml: string, e: EdgeEvent): AlertIntent {
  const { rules, issues } = loadRuleFile('hot.yaml', yaml);
  assert.deepEqual(issues, []);
  const out: AlertIntent[] = [];
  const engine = new RuleEngine({ gatewayId: 'gw', onAlert: (a) => out.push(a) });
  engine.setRules(rules);
  engine.replay([e]);
  assert.equal(out.length, 1);
  return out[0];
}

it('stores an alert and its commands in one commit, publishes each once, and a repeat not at all', async (t) => {
  const rig = await openRig(tempDirFor(t), { now: T0 });
  t.after(() => rig.close());
  const groups: string[][] = [];
  rig.bus.on('groups', 'appended', (events) => groups.push(events.map((e) => e.id)));
  const published: { topic: string; body: string; qos: number; stored: string[] }[] = [];
  // What the log holds at each publish: never less than what is published.
  const publish = async (topic: string, payload: Buffer, opts: { qos: 0 | 1 }): Promise<void> => void published.push({ topic, body: payload.toString(), qos: opts.qos, stored: (await readAll(rig.store)).map((e) => e.id) });
  const { log } = memoryLogger('warn');
  const outbox = new AlertOutbox({ appender: rig.appender, log, publish, commands: new CommandDelivery({ store: rig.store, publish, sync: true, log }) });
  await rig.appender.append({
    id: 'r-1', type: 'DeviceData', source: 's-1', timestamp: new Date(T0).toISOString(), payload: { value: 40 },
    metadata: { correlationId: 'corr-1', causationId: null, version: '1', priority: 'normal', ttl: null },
    deviceSeq: null, explicitId: true, receivedAt: T0,
  });
  const [reading] = await readAll(rig.store);

  const alert = decide(RULE, reading);
  outbox.push(alert);
  await outbox.drained();
  const ids = [alert.draft.id!, `${alert.draft.id}:action:0`, `${alert.draft.id}:action:1`];
  assert.deepEqual(groups.at(-1), ids, 'one group commit');
  const stored = await readAll(rig.store);
  assert.deepEqual(stored.map((e) => [e.id, e.type, e.metadata.correlationId, e.metadata.causationId]), [
    ['r-1', 'DeviceData', 'corr-1', null],
    [ids[0], 'Alert', 'corr-1', 'r-1'],
    [ids[1], 'Command', 'corr-1', ids[0]],
    [ids[2], 'Command', 'corr-1', ids[0]],
  ]);
  assert.deepEqual(stored.slice(2).map((e) => [e.device, e.payload]), [[{ id: 'fan-1' }, { on: true }], [{ id: 'siren-1' }, { value: 'loud' }]]);
  assert.deepEqual(published.map((p) => [p.topic, p.qos]), [['alerts/hot/s-1', 1], ['cmd/fan-1', 1], ['cmd/siren-1/sound', 0]]);
  assert.deepEqual(published.slice(1).map((p) => p.body), ['{"on":true}', 'loud'], 'the filled-in payload, as a device reads it');
  for (const p of published) assert.deepEqual(p.stored, ['r-1', ...ids], `${p.topic}: published once everything was durable`);
  const alertBody = JSON.parse(published[0].body) as EdgeEvent;
  assert.equal(alertBody.id, ids[0]);
  assert.equal('explicitId' in alertBody, false, 'the event as the contract has it');

  // The same decision again: nothing stored, nothing published.
  outbox.push(decide(RULE, reading));
  await outbox.drained();
  assert.equal((await readAll(rig.store)).length, 4);
  assert.equal(published.length, 3);

  // An alert stored by a rule that had one action then: only the new command is stored and sent.
  const more = decide(`${RULE}  - publish: { topic: "cmd/fan-2", payload: "on" }\n`, reading);
  outbox.push(more);
  await outbox.drained();
  assert.deepEqual((await readAll(rig.store)).map((e) => e.id).slice(4), [`${ids[0]}:action:2`]);
  assert.deepEqual(published.slice(3).map((p) => p.topic), ['cmd/fan-2']);
});
