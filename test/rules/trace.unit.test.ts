// Traceability of what rules emit: which correlation id an alert, a chained alert, an
// absence, a derived event and an action's Command inherit, which event each names as its
// cause, and the deterministic ids that let a replay store each once. The engine runs on
// events built here, with rules compiled by the real loader.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgeEvent, EventDraft, JsonObject } from '../../src/events/types.js';
import type { AlertIntent } from '../../src/rules/alerts.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { loadRuleFile } from '../../src/rules/loader.js';
import { fillPayload } from '../../src/rules/templates.js';
import { actionCommandId, commandPayload, correlationOf, deviceOfTopic, emissionId } from '../../src/rules/trace.js';
import type { CompiledRule } from '../../src/rules/types.js';

const T0 = Date.parse('2026-11-26T00:00:00.000Z');

function compile(yaml: string): CompiledRule[] {
  const { rules, issues } = loadRuleFile('trace.yaml', yaml);
  assert.deepEqual(issues, [], 'the rules compile');
  return rules;
}

let seq = 0;
function reading(source: string, value: number, atMs: number, correlationId: string | null = null): EdgeEvent {
  seq++;
  const timestamp = new Date(T0 + atMs).toISOString();
  return {
    id: `${source}:0:${seq}`, type: 'DeviceData', source, timestamp, seq,
    payload: { value },
    sensor: { type: 'temperature', value, unit: 'C', accuracy: null, timestamp },
    device: { id: source },
    metadata: { correlationId, causationId: null, version: '1', priority: 'normal', ttl: null },
  };
}

/** An emission as the log would hand it back to the rules: a stored event. */
function stored(d: EventDraft): EdgeEvent {
  seq++;
  return { id: d.id!, type: d.type, source: d.source, timestamp: d.timestamp, seq, payload: d.payload, metadata: d.metadata, ...(d.device ? { device: d.device } : {}) };
}

function engineFor(yaml: string, now: () => number = () => T0): { engine: RuleEngine; out: AlertIntent[] } {
  const out: AlertIntent[] = [];
  const engine = new RuleEngine({ gatewayId: 'gw', now, onAlert: (a) => out.push(a) });
  engine.setRules(compile(yaml));
  return { engine, out };
}

const trace = (d: EventDraft) => [d.metadata.correlationId, d.metadata.causationId];

const HOT = `
id: hot
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
window: { sliding: 60s }
having: { count: { gte: 2 } }
emit: { message: "{group} hot", priority: critical }
clear: { where: { value: { lt: 28 } } }
actions:
  - publish: { topic: "cmd/fan-{group}/speed", payload: { speed: "{max(value)}", corr: "{correlationId}" } }
  - publish: { topic: "sirens/all", payload: "on" }
`;

describe('correlation and causation of what rules emit', () => {
  it('an alert takes its first triggering event\'s correlation and names the deciding event as its cause', () => {
    const { engine, out } = engineFor(HOT);
    const first = reading('gh-1', 31, 0, 'corr-A');
    const second = reading('gh-1', 33, 1_000, 'corr-B');
    engine.process([first, second]);
    assert.equal(out.length, 1);
    const [alert] = out;
    assert.deepEqual(alert.draft.payload.events, [first.id, second.id]);
    assert.deepEqual(trace(alert.draft), ['corr-A', second.id]);
  });

  it('without a correlation on the trigger, the trigger\'s own id opens the chain', () => {
    const { engine, out } = engineFor(HOT);
    const first = reading('gh-2', 31, 0);
    const second = reading('gh-2', 33, 1_000, 'corr-B');
    engine.process([first, second]);
    assert.deepEqual(trace(out[0].draft), [first.id, second.id]);
  });

  it('a late deciding event is the cause even when the window orders it first', () => {
    const { engine, out } = engineFor(HOT);
    const newest = reading('gh-3', 31, 10_000, 'corr-N');
    const late = reading('gh-3', 32, 5_000, 'corr-L');
    engine.process([newest, late]);
    assert.deepEqual(out[0].draft.payload.events, [late.id, newest.id], 'event-time order');
    assert.deepEqual(trace(out[0].draft), ['corr-L', late.id]);
  });

  it('each action becomes a Command with an id of the alert and the action index, for the device its topic names', () => {
    const { engine, out } = engineFor(HOT);
    engine.process([reading('gh-1', 31, 0, 'corr-A'), reading('gh-1', 35, 1_000)]);
    const [alert] = out;
    const alertId = alert.draft.id!;
    assert.equal(alertId, emissionId('Alert', 'hot', 'gh-1', String(seq), 'raised'));
    assert.deepEqual(alert.actions.map((a) => a.draft.id), [actionCommandId(alertId, 0), actionCommandId(alertId, 1)]);
    assert.equal(actionCommandId(alertId, 0), `${alertId}:action:0`);
    const [fan, siren] = alert.actions;
    assert.equal(fan.topic, 'cmd/fan-gh-1/speed');
    assert.equal(fan.payload.toString(), '{"speed":"35","corr":"corr-A"}', 'what is published is the filled-in payload');
    assert.deepEqual(fan.draft.payload, { speed: '35', corr: 'corr-A' });
    assert.deepEqual(fan.draft.device, { id: 'fan-gh-1' });
    assert.equal(fan.draft.type, 'Command');
    assert.equal(fan.draft.source, 'gw');
    assert.equal(fan.draft.explicitId, true, 'checked against the id index like every rule output');
    assert.equal(fan.draft.metadata.priority, 'critical', 'at its alert\'s priority');
    assert.deepEqual(trace(fan.draft), ['corr-A', alertId]);
    assert.equal(siren.draft.device, undefined, 'not a device command topic');
    assert.deepEqual(siren.draft.payload, { value: 'on' });
    assert.deepEqual(trace(siren.draft), ['corr-A', alertId]);
  });

  it('a clear continues the incident\'s correlation, is caused by the clearing event, and sends no commands', () => {
    const { engine, out } = engineFor(HOT);
    engine.process([reading('gh-1', 31, 0, 'corr-A'), reading('gh-1', 35, 1_000)]);
    const cool = reading('gh-1', 20, 2_000, 'corr-Z');
    engine.process([cool]);
    assert.deepEqual(out.map((a) => a.state), ['raised', 'cleared']);
    assert.deepEqual(trace(out[1].draft), ['corr-A', cool.id]);
    assert.deepEqual(out[1].actions, []);
  });

  it('a chained alert continues the chain of the alert that triggered it', () => {
    const { engine, out } = engineFor(`
- ${HOT.trim().split('\n').join('\n  ')}
- id: escalate
  match: { type: Alert }
  where: { payload.rule: hot, payload.state: raised }
  groupBy: payload.group
  emit: { severity: critical, message: "escalated {payload.group}" }
`);
    engine.process([reading('gh-1', 31, 0, 'corr-A'), reading('gh-1', 35, 1_000)]);
    assert.equal(out.length, 1);
    const alert = stored(out[0].draft);
    engine.process([alert]);
    assert.deepEqual(out.map((a) => a.rule.id), ['hot', 'escalate']);
    assert.deepEqual(trace(out[1].draft), ['corr-A', alert.id]);
    // A chained alert with no correlation on its trigger (an alert stored before they had one) starts from that alert.
    const draft = out[0].draft;
    const bare = stored({ ...draft, id: 'alert:hot:gh-9:1:raised', payload: { ...draft.payload, group: 'gh-9' }, metadata: { ...draft.metadata, correlationId: null } });
    engine.process([bare]);
    assert.deepEqual(trace(out[2].draft), [bare.id, bare.id]);
  });

  it('an absence continues the last event seen from its group, across a restart too', () => {
    let now = T0;
    const rule = `
id: gone
match: { type: DeviceData }
groupBy: source
absent: 2m
`;
    const { engine, out } = engineFor(rule, () => now);
    const last = reading('s-1', 20, 0, 'corr-S');
    engine.process([last]);
    const snapshot = engine.absentSnapshot();
    engine.settleAbsence(T0 + 120_000);
    assert.equal(out.length, 1);
    assert.deepEqual(trace(out[0].draft), ['corr-S', last.id]);

    const restarted = engineFor(rule, () => now);
    restarted.engine.restoreAbsent(JSON.parse(JSON.stringify(snapshot)));
    now = T0 + 120_000;
    restarted.engine.settleAbsence(now);
    assert.equal(restarted.out[0].draft.id, out[0].draft.id, 'the same decision, the same id');
    assert.deepEqual(trace(restarted.out[0].draft), ['corr-S', last.id]);
    const back = reading('s-1', 21, 130_000, 'corr-T');
    restarted.engine.process([back]);
    assert.equal(restarted.out[1].state, 'cleared');
    assert.deepEqual(trace(restarted.out[1].draft), ['corr-S', back.id], 'the return ends the same incident');
  });

  it('a sustained condition and a sequence take their first event\'s correlation', () => {
    const sustained = engineFor(`
id: long-hot
match: { type: DeviceData }
where: { value: { gt: 30 } }
for: 10s
`);
    const start = reading('a', 31, 0, 'corr-1');
    const end = reading('a', 32, 10_000, 'corr-2');
    sustained.engine.process([start, end]);
    assert.deepEqual(trace(sustained.out[0].draft), ['corr-1', end.id]);

    const sequence = engineFor(`
id: up-then-down
groupBy: source
sequence:
  - { as: up, where: { value: { gt: 30 } } }
  - { as: down, where: { value: { lt: 10 } }, within: 30s }
`);
    const up = reading('b', 31, 0, 'corr-up');
    const down = reading('b', 5, 1_000, 'corr-down');
    sequence.engine.process([up, down]);
    assert.deepEqual(trace(sequence.out[0].draft), ['corr-up', down.id]);
  });
});

describe('derived events', () => {
  const FACT = `
id: overheated
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
clear: { where: { value: { lt: 28 } } }
emit:
  type: BusinessEvent
  topic: "facts/{group}/overheated"
  payload: { kind: overheated, room: "{group}", peak: "{value}", text: "{group} at {value} C", trace: "{correlationId}", fixed: 3, tags: ["{rule}", hot] }
actions:
  - publish: { topic: "cmd/{group}", payload: "cool" }
`;

  it('makes the event its emit names, with a templated payload, a deterministic id, and its actions', () => {
    const { engine, out } = engineFor(FACT);
    const hot = reading('room-1', 33.5, 0, 'corr-A');
    engine.process([hot]);
    assert.equal(out.length, 1);
    const [fact] = out;
    assert.equal(fact.draft.type, 'BusinessEvent');
    assert.equal(fact.draft.id, `businessevent:overheated:room-1:${hot.seq}:raised`);
    assert.equal(fact.draft.id, emissionId('BusinessEvent', 'overheated', 'room-1', String(hot.seq), 'raised'));
    assert.equal(fact.topic, 'facts/room-1/overheated');
    assert.deepEqual(fact.draft.payload, {
      kind: 'overheated', room: 'room-1', peak: 33.5, text: 'room-1 at 33.5 C', trace: 'corr-A', fixed: 3, tags: ['overheated', 'hot'],
    });
    assert.equal(fact.draft.metadata.priority, 'normal', 'derived events default to normal');
    assert.deepEqual(trace(fact.draft), ['corr-A', hot.id]);
    assert.deepEqual(fact.actions.map((a) => [a.draft.id, a.draft.device, trace(a.draft)]), [[`${fact.draft.id}:action:0`, { id: 'room-1' }, ['corr-A', fact.draft.id]]]);
  });

  it('a clear ends the incident without an event, and the next incident derives a new one', () => {
    const { engine, out } = engineFor(FACT);
    engine.process([reading('room-1', 33, 0), reading('room-1', 34, 1_000)]);
    assert.equal(out.length, 1, 'once per incident');
    engine.process([reading('room-1', 20, 2_000)]);
    assert.equal(out.length, 1, 'nothing for the clear');
    engine.process([reading('room-1', 35, 3_000)]);
    assert.deepEqual(out.map((a) => [a.draft.type, a.state]), [['BusinessEvent', 'raised'], ['BusinessEvent', 'raised']]);
  });

  it('a replay of the same events derives the same ids', () => {
    const events = [reading('room-2', 33, 0, 'corr-R'), reading('room-2', 20, 1_000), reading('room-2', 40, 2_000)];
    const live = engineFor(FACT);
    live.engine.process(events);
    const replayed = engineFor(FACT);
    replayed.engine.replay(events);
    const ids = (o: AlertIntent[]) => o.flatMap((a) => [a.draft.id, ...a.actions.map((c) => c.draft.id)]);
    assert.equal(ids(live.out).length, 4);
    assert.deepEqual(ids(replayed.out), ids(live.out));
  });

  it('a rule never reacts to what it emitted; another rule continues the chain from it', () => {
    const { engine, out } = engineFor(`
- id: any-hot
  where: { value: { gt: 30 } }
  groupBy: source
  emit: { type: BusinessEvent, payload: { value: "{value}" } }
  actions:
    - publish: { topic: "cmd/x", payload: "{value}" }
- id: follow
  match: { type: BusinessEvent }
  emit: { type: SystemEvent, payload: { kind: followed } }
`);
    engine.process([reading('r', 40, 0, 'corr-F')]);
    assert.equal(out.length, 1);
    const fact = stored(out[0].draft);
    const command = stored(out[0].actions[0].draft);
    assert.deepEqual([fact.payload, command.payload], [{ value: 40 }, { value: 40 }], 'both would pass any-hot\'s where');
    engine.process([fact, command]);
    assert.deepEqual(out.map((a) => [a.rule.id, a.draft.type]), [['any-hot', 'BusinessEvent'], ['follow', 'SystemEvent']]);
    assert.equal(out[1].draft.id, `systemevent:follow:follow:${fact.seq}:raised`);
    assert.deepEqual(trace(out[1].draft), ['corr-F', fact.id]);
  });

  it('a Command emit is for the device its topic names', () => {
    const { engine, out } = engineFor(`
id: vent
match: { type: DeviceData }
where: { value: { gt: 30 } }
emit: { type: Command, topic: "cmd/vent-1", payload: { open: true, because: "{value}" } }
`);
    const hot = reading('room-3', 31, 0);
    engine.process([hot]);
    assert.equal(out[0].draft.type, 'Command');
    assert.deepEqual(out[0].draft.device, { id: 'vent-1' });
    assert.deepEqual(out[0].draft.payload, { open: true, because: 31 });
    assert.deepEqual(trace(out[0].draft), [hot.id, hot.id]);
  });
});

describe('trace helpers', () => {
  it('reads the device of a command topic, and a command payload the way upstream commands are stored', () => {
    assert.equal(deviceOfTopic('cmd/fan-1'), 'fan-1');
    assert.equal(deviceOfTopic('cmd/fan-1/speed'), 'fan-1');
    assert.equal(deviceOfTopic('cmd'), null);
    assert.equal(deviceOfTopic('cmd/'), null);
    assert.equal(deviceOfTopic('alerts/cmd/x'), null);
    assert.deepEqual(commandPayload('{"on":true}'), { on: true });
    assert.deepEqual(commandPayload('on'), { value: 'on' });
    assert.deepEqual(commandPayload('42'), { value: 42 });
    assert.deepEqual(commandPayload('[1,2]'), { value: [1, 2] });
    assert.equal(correlationOf({ id: 'e1', correlationId: null }), 'e1');
    assert.equal(correlationOf({ id: 'e1', correlationId: 'c' }), 'c');
  });

  it('fills a payload template: whole placeholders keep their type, unknown names stay as written', () => {
    const e = reading('p', 12.25, 0, 'corr-P');
    const ctx = { rule: 'r', group: 'g', state: 'raised', severity: 'info', correlationId: 'corr-P', aggregates: { count: 2, 'max(value)': null }, event: e };
    const template: JsonObject = { n: '{count}', m: '{max(value)}', v: '{value}', s: 'v={value}', missing: '{payload.nope}', raw: '{"a":1}', nested: { c: '{correlationId}' } };
    assert.deepEqual(fillPayload(template, ctx), { n: 2, m: null, v: 12.25, s: 'v=12.25', missing: null, raw: '{"a":1}', nested: { c: 'corr-P' } });
    assert.deepEqual(fillPayload({ v: '{value}' }, { ...ctx, event: null }), { v: '{value}' }, 'an absence has no event to read');
  });
});
