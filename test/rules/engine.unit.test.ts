// The rule engine on events built in the test, with rules written in YAML and compiled by
// the real loader: what each construct raises and clears, when, and with which ids.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EdgeEvent, EventType, JsonObject } from '../../src/events/types.js';
import type { AlertIntent } from '../../src/rules/alerts.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { loadRuleFile } from '../../src/rules/loader.js';
import type { CompiledRule } from '../../src/rules/types.js';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.parse('2026-11-26T00:00:00.000Z');

function rules(yaml: string): CompiledRule[] {
  const { rules: out, issues } = loadRuleFile('test.yaml', yaml);
  assert.deepEqual(issues, [], 'the rule compiles');
  return out;
}

let seq = 0;
function reading(source: string, sensor: string, value: number | string, atMs: number, extra: Partial<EdgeEvent> = {}, payload: JsonObject = {}): EdgeEvent {
  seq++;
  const timestamp = new Date(T0 + atMs).toISOString();
  return {
    id: `${source}:0:${seq}`, type: 'DeviceData' as EventType, source, timestamp, seq,
    payload: { value, ...payload },
    sensor: { type: sensor, value, unit: null, accuracy: null, timestamp },
    device: { id: source },
    metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null },
    ...extra,
  };
}

function engineFor(yaml: string, now: () => number = () => T0): { engine: RuleEngine; alerts: AlertIntent[] } {
  const alerts: AlertIntent[] = [];
  const engine = new RuleEngine({ gatewayId: 'gw', now, onAlert: (a) => alerts.push(a) });
  engine.setRules(rules(yaml));
  return { engine, alerts };
}

const states = (alerts: AlertIntent[]) => alerts.map((a) => `${a.group}:${a.state}`);

const OVERHEAT = `
id: overheat
match: { type: DeviceData, sensor: temperature, source: "gh-*" }
where: { value: { gt: 30 } }
groupBy: source
window: { sliding: 60s }
having: { count: { gte: 3 } }
emit: { severity: warning, priority: high, message: "{group} hot: max {max(value)} C over {count}" }
clear: { where: { value: { lt: 28 } } }
actions:
  - publish: { topic: "cmd/{group}/fan", payload: "on" }
`;

describe('rule engine', () => {
  it('raises once per incident over a sliding window, per group, and clears once with hysteresis', () => {
    const { engine, alerts } = engineFor(OVERHEAT);
    engine.process([reading('gh-1', 'temperature', 31, 0), reading('gh-1', 'temperature', 32, 10_000), reading('gh-2', 'temperature', 35, 11_000)]);
    assert.equal(alerts.length, 0, 'two hot readings are not three');
    engine.process([reading('gh-1', 'temperature', 33, 20_000)]);
    assert.deepEqual(states(alerts), ['gh-1:raised']);
    const raised = alerts[0];
    assert.equal(raised.draft.type, 'Alert');
    assert.equal(raised.draft.metadata.priority, 'high');
    assert.equal(raised.draft.payload.message, 'gh-1 hot: max 33 C over 3');
    assert.deepEqual(raised.draft.payload.aggregates, { count: 3, 'max(value)': 33 });
    const ids = raised.draft.payload.events as string[];
    assert.equal(ids.length, 3);
    assert.equal(raised.draft.metadata.correlationId, ids[0]);
    assert.equal(raised.draft.metadata.causationId, ids[2]);
    assert.equal(raised.topic, 'alerts/overheat/gh-1');
    assert.deepEqual(raised.actions.map((a) => [a.topic, a.payload.toString()]), [['cmd/gh-1/fan', 'on']]);

    engine.process([reading('gh-1', 'temperature', 34, 30_000), reading('gh-1', 'temperature', 29, 40_000)]);
    assert.equal(alerts.length, 1, 'still hot, or in the hysteresis band: no new alert');
    engine.process([reading('gh-1', 'temperature', 27, 50_000), reading('gh-1', 'temperature', 26, 51_000)]);
    assert.deepEqual(states(alerts), ['gh-1:raised', 'gh-1:cleared'], 'cleared once');
    assert.deepEqual(alerts[1].actions, [], 'a clear runs no actions');
    engine.process([reading('gh-other', 'humidity', 99, 52_000), reading('plant-1', 'temperature', 99, 53_000)]);
    assert.equal(alerts.length, 2, 'events the match excludes do nothing');
  });

  it('gives the same decisions the same ids when the log is replayed', () => {
    const events = [reading('gh-1', 'temperature', 31, 0), reading('gh-1', 'temperature', 32, 1_000), reading('gh-1', 'temperature', 33, 2_000), reading('gh-1', 'temperature', 20, 3_000)];
    const first = engineFor(OVERHEAT);
    first.engine.process(events);
    const again = engineFor(OVERHEAT);
    again.engine.replay(events);
    assert.equal(first.alerts.length, 2);
    assert.deepEqual(again.alerts.map((a) => a.draft.id), first.alerts.map((a) => a.draft.id));
    assert.match(first.alerts[0].draft.id!, /^alert:overheat:gh-1:\d+:raised$/);
  });

  it('re-arms a rule without hysteresis when its condition stops holding, within the cooldown', () => {
    const { engine, alerts } = engineFor(`
id: spike
match: { sensor: pressure }
where: { value: { gt: 10 } }
cooldown: 1m
`);
    engine.process([reading('p', 'pressure', 11, 0), reading('p', 'pressure', 12, 1_000)]);
    assert.equal(alerts.length, 1, 'one incident, one alert');
    engine.process([reading('p', 'pressure', 5, 2_000), reading('p', 'pressure', 13, 3_000)]);
    assert.equal(alerts.length, 1, 'a new incident inside the cooldown is held back');
    engine.process([reading('p', 'pressure', 5, 61_000), reading('p', 'pressure', 14, 62_000)]);
    assert.equal(alerts.length, 2, 'after the cooldown it raises again');
    assert.equal(alerts[0].group, 'spike', 'no groupBy: one group named by the rule');
  });

  it('averages a tumbling window per bucket', () => {
    const { engine, alerts } = engineFor(`
id: humid
match: { sensor: humidity }
window: { tumbling: 10m }
having: { "avg(value)": { gt: 80 } }
`);
    engine.process([reading('h', 'humidity', 70, 0), reading('h', 'humidity', 85, 60_000)]);
    assert.equal(alerts.length, 0, 'avg 77.5');
    engine.process([reading('h', 'humidity', 95, 120_000)]);
    assert.equal(alerts.length, 1, 'avg 83.3');
    engine.process([reading('h', 'humidity', 50, 600_000), reading('h', 'humidity', 90, 660_000)]);
    assert.equal(alerts.length, 1, 'the next bucket starts at 50: the incident is over, avg 70 raises nothing');
    engine.process([reading('h', 'humidity', 85, 1_200_000)]);
    assert.equal(alerts.length, 2, 'the bucket after that holds 85 alone: a new incident');
    assert.notEqual(alerts[0].draft.id, alerts[1].draft.id);
  });

  it('counts the last N events and measures the rate of change', () => {
    const { engine, alerts } = engineFor(`
id: climbing
match: { sensor: temperature }
window: { count: 3 }
having: { "rate(value)": { gt: 0.1 }, count: { eq: 3 } }
message: x
`.replace('message: x\n', ''));
    engine.process([reading('r', 'temperature', 20, 0), reading('r', 'temperature', 21, 10_000), reading('r', 'temperature', 21.5, 20_000)]);
    assert.equal(alerts.length, 0, '1.5 °C over 20 s is 0.075/s');
    engine.process([reading('r', 'temperature', 25, 30_000)]);
    assert.equal(alerts.length, 1, '4 °C over 20 s');
    assert.equal(alerts[0].draft.payload.aggregates && (alerts[0].draft.payload.aggregates as JsonObject)['rate(value)'], 0.2);
  });

  it('keeps a session open while events come within the gap', () => {
    const { engine, alerts } = engineFor(`
id: busy-door
match: { sensor: door }
window: { session: 30s }
having: { count: { gte: 4 } }
`);
    engine.process([0, 10_000, 20_000].map((t) => reading('d', 'door', 1, t)));
    engine.process([reading('d', 'door', 1, 100_000)]);
    assert.equal(alerts.length, 0, 'the gap closed the first session at three');
    engine.process([110_000, 120_000, 130_000].map((t) => reading('d', 'door', 1, t)));
    assert.equal(alerts.length, 1);
  });

  it('raises a sustained condition only once it has held for the whole duration', () => {
    const { engine, alerts } = engineFor(`
id: dry
match: { sensor: soil }
where: { value: { lt: 20 } }
for: 5m
`);
    engine.process([reading('s', 'soil', 10, 0), reading('s', 'soil', 12, 120_000), reading('s', 'soil', 30, 200_000)]);
    engine.process([reading('s', 'soil', 10, 210_000), reading('s', 'soil', 11, 400_000)]);
    assert.equal(alerts.length, 0, 'broken by the 30 at 200 s; 190 s since');
    engine.process([reading('s', 'soil', 11, 510_000)]);
    assert.equal(alerts.length, 1, '300 s of dry readings');
    assert.deepEqual((alerts[0].draft.payload.events as string[]).length, 2);
  });

  it('matches a sequence within its time limit, per group', () => {
    const { engine, alerts } = engineFor(`
id: door-then-motion
groupBy: payload.room
sequence:
  - { as: door, match: { sensor: door }, where: { value: { eq: open } } }
  - { as: motion, match: { sensor: motion }, where: { value: { eq: 1 } }, within: 10s }
`);
    engine.process([reading('d1', 'door', 'open', 0, {}, { room: 'hall' }), reading('m1', 'motion', 1, 15_000, {}, { room: 'hall' })]);
    assert.equal(alerts.length, 0, 'motion 15 s later is too late');
    engine.process([reading('d1', 'door', 'open', 20_000, {}, { room: 'hall' }), reading('m2', 'motion', 1, 21_000, {}, { room: 'shed' })]);
    assert.equal(alerts.length, 0, 'motion in another room');
    engine.process([reading('m1', 'motion', 1, 25_000, {}, { room: 'hall' })]);
    assert.deepEqual(states(alerts), ['hall:raised']);
    assert.equal((alerts[0].draft.payload.events as string[]).length, 2);
  });

  it('notices a group that went quiet on the gateway clock, and one that was quiet before a restart', async () => {
    const yaml = `
id: quiet
match: { type: DeviceData }
groupBy: source
absent: 50ms
`;
    const { engine, alerts } = engineFor(yaml, Date.now);
    engine.armAbsence();
    engine.process([reading('a1', 't', 1, 0), reading('a2', 't', 1, 0)]);
    await waitFor(() => alerts.length === 2, { message: 'both groups reported absent' });
    assert.deepEqual(states(alerts).sort(), ['a1:raised', 'a2:raised']);
    engine.process([reading('a1', 't', 1, 0)]);
    assert.deepEqual(states(alerts).slice(2), ['a1:cleared'], 'back again: cleared once');
    const snapshot = engine.absentSnapshot();
    engine.stop();

    const restarted = engineFor(yaml, Date.now);
    restarted.engine.restoreAbsent(snapshot);
    restarted.engine.armAbsence();
    await waitFor(() => restarted.alerts.length === 1, { message: 'a1 still quiet after the restart' });
    assert.equal(restarted.alerts[0].group, 'a1');
    assert.equal(restarted.alerts.filter((a) => a.group === 'a2').length, 0, 'a2 was already reported: it stays raised, not raised twice');
    restarted.engine.stop();
  });

  it('stamps a live decision with the gateway clock, a replayed one with its deciding event\'s time', () => {
    const gatewayNow = T0 + 999_000;
    const events = () => [reading('p', 'pressure', 11, 5_000), reading('p', 'pressure', 2, 6_000)];
    const yaml = 'id: spike\nmatch: { sensor: pressure }\nwhere: { value: { gt: 10 } }\nclear: { where: { value: { lt: 5 } } }\n';
    const live = engineFor(yaml, () => gatewayNow);
    live.engine.process(events());
    assert.deepEqual(live.alerts.map((a) => a.draft.receivedAt), [gatewayNow, gatewayNow]);
    assert.deepEqual(live.alerts.map((a) => a.draft.timestamp), [new Date(gatewayNow).toISOString(), new Date(gatewayNow).toISOString()]);
    const replayed = engineFor(yaml, () => gatewayNow);
    replayed.engine.replay(events());
    assert.deepEqual(replayed.alerts.map((a) => a.draft.receivedAt), [T0 + 5_000, T0 + 6_000]);
  });

  it('never reads the gateway clock while replaying, not even for absence with its timers started', () => {
    let reads = 0;
    const { engine, alerts } = engineFor(`
- { id: quiet, match: { sensor: flow }, groupBy: source, absent: 50ms }
- { id: hot, match: { sensor: flow }, where: { value: { gt: 10 } } }
`, () => (reads++, T0));
    engine.armAbsence();
    reads = 0;
    engine.replay([reading('f', 'flow', 1, 0), reading('f', 'flow', 20, 1_000), reading('f', 'flow', 1, 2_000)]);
    assert.equal(alerts.length, 1, 'the hot reading raised');
    assert.equal(reads, 0, 'no timer armed, nothing stamped on the gateway clock');
    engine.stop();
  });

  it('runs absence on the gateway clock live, on event time replayed, and settles a backtest at each absence\'s due time', () => {
    const yaml = 'id: quiet\nmatch: { sensor: flow }\ngroupBy: source\nabsent: 2m\n';
    const live = engineFor(yaml, () => T0 + 50_000);
    live.engine.process([reading('p', 'flow', 1, 0)]);
    live.engine.settleAbsence(T0 + 169_999);
    assert.equal(live.alerts.length, 0, 'seen at 50 s on the gateway clock, not at its event time');
    live.engine.settleAbsence(T0 + 170_000);
    assert.deepEqual(live.alerts.map((a) => [a.state, a.draft.receivedAt]), [['raised', T0 + 170_000]]);

    const replayed = engineFor(yaml, () => T0 + 50_000);
    const seen = reading('p', 'flow', 1, 0);
    replayed.engine.replay([seen]);
    replayed.engine.settleAbsence(T0 + 600_000);
    assert.deepEqual(replayed.alerts.map((a) => [a.draft.id, a.draft.receivedAt]), [[`alert:quiet:p:absent-after-${seen.seq}:raised`, T0 + 120_000]]);
    replayed.engine.settleAbsence(T0 + 700_000);
    assert.equal(replayed.alerts.length, 1, 'raised once');
  });

  it('evaluates only the rules an event can match, whatever else is loaded', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `- id: r${i}\n  match: { type: DeviceData, sensor: s${i} }\n  where: { value: { gt: 0 } }\n`).join('');
    const { engine, alerts } = engineFor(many);
    engine.process([reading('x', 's7', 1, 0), reading('x', 'unknown', 1, 0)]);
    assert.deepEqual(alerts.map((a) => a.rule.id), ['r7']);
  });

  it('never reacts to its own alerts', () => {
    const { engine, alerts } = engineFor(`
id: any-alert
match: { type: Alert }
`);
    const own = reading('gw', 'x', 1, 0, { type: 'Alert' as EventType, payload: { rule: 'any-alert' } });
    const other = reading('gw', 'x', 1, 0, { type: 'Alert' as EventType, payload: { rule: 'overheat' } });
    engine.process([own, other]);
    assert.equal(alerts.length, 1);
  });
});

describe('the example rules in rules/', () => {
  function example(name: string, now: () => number = () => T0): { engine: RuleEngine; alerts: AlertIntent[] } {
    const file = join(ROOT, 'rules', name);
    const { rules: loaded, issues } = loadRuleFile(file);
    assert.deepEqual(issues, []);
    const alerts: AlertIntent[] = [];
    const engine = new RuleEngine({ gatewayId: 'gw', now, onAlert: (a) => alerts.push(a) });
    engine.setRules(loaded);
    return { engine, alerts };
  }

  it('overheat: three hot readings in a minute raise it and start the fan; below 28 clears it', () => {
    const { engine, alerts } = example('overheat.yaml');
    engine.process([31, 32, 33].map((v, i) => reading('greenhouse-1', 'temperature', v, i * 10_000)));
    engine.process([reading('greenhouse-1', 'temperature', 27, 40_000)]);
    assert.deepEqual(states(alerts), ['greenhouse-1:raised', 'greenhouse-1:cleared']);
    assert.equal(alerts[0].actions[0].topic, 'cmd/greenhouse-1/fan');
  });

  it('heartbeat-lost: a device silent for two minutes on the gateway clock', () => {
    let now = T0;
    const { engine, alerts } = example('heartbeat-lost.yaml', () => now);
    engine.process([reading('pump-1', 'flow', 3, 0)]);
    now = T0 + 121_000;
    engine.settleAbsence(now);
    assert.deepEqual(states(alerts), ['pump-1:raised']);
    engine.process([reading('pump-1', 'flow', 3, 130_000)]);
    assert.deepEqual(states(alerts), ['pump-1:raised', 'pump-1:cleared']);
  });

  it('door-then-motion: motion in the same room within ten seconds of the door', () => {
    const { engine, alerts } = example('door-then-motion.yaml');
    engine.process([reading('door-1', 'door', 'open', 0, {}, { room: 'hall' }), reading('pir-1', 'motion', 'detected', 4_000, {}, { room: 'hall' })]);
    assert.deepEqual(states(alerts), ['hall:raised']);
  });

  it('humidity-high: a ten-minute bucket averaging above 80 %', () => {
    const { engine, alerts } = example('humidity-average.yaml');
    engine.process([78, 84, 86].map((v, i) => reading('gh-4', 'humidity', v, i * 60_000)));
    assert.deepEqual(states(alerts), ['gh-4:raised']);
    assert.match(String(alerts[0].draft.payload.message), /average humidity 81 % over 10 minutes/, 'raised as soon as the average passed 80');
  });

  it('temperature-rising-fast: more than 0.1 °C/s over five minutes', () => {
    const { engine, alerts } = example('rate-of-change.yaml');
    engine.process([reading('greenhouse-2', 'temperature', 20, 0), reading('greenhouse-2', 'temperature', 21, 60_000)]);
    assert.equal(alerts.length, 0, '1 °C a minute');
    engine.process([reading('greenhouse-2', 'temperature', 40, 120_000)]);
    assert.deepEqual(states(alerts), ['greenhouse-2:raised']);
    assert.equal(alerts[0].draft.metadata.priority, 'critical');
  });
});

describe('event time', () => {
  it('reads the gateway\'s canonical timestamps exactly as Date.parse does, and others through it', async () => {
    const { eventTime } = await import('../../src/rules/event-time.js');
    const at = (timestamp: string) => eventTime({ timestamp } as EdgeEvent);
    for (let ms = Date.parse('1999-12-31T23:59:59.999Z'); ms < Date.parse('2031-01-01T00:00:00Z'); ms += 86_399_937) {
      const iso = new Date(ms).toISOString();
      assert.equal(at(iso), ms, iso);
    }
    assert.equal(at('2026-11-26T01:02:03.456+02:00'), Date.parse('2026-11-26T01:02:03.456+02:00'));
    assert.equal(at('not a time'), 0);
  });
});
