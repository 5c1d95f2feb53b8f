// Routes compiled from the config: which events a route takes (the rules' match and where),
// the topics its template gives, how sampling thins a source's events, and how a batch is
// split into one publish per topic with the default topic for what no route takes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteConfig } from '../../src/config/types.js';
import { encodeValue } from '../../src/events/codec.js';
import type { EdgeEvent, EventType } from '../../src/events/types.js';
import { compileRoute } from '../../src/routes/route.js';
import { Sampler } from '../../src/routes/sampler.js';
import { compileTopicTemplate } from '../../src/routes/topic-template.js';
import { UpstreamRouting } from '../../src/routes/upstream-routing.js';
import { RuleError } from '../../src/rules/types.js';
import { StoredItem } from '../../src/upstream/event-head.js';

const T0 = 1_700_000_000_000;

function event(seq: number, type: EventType, source: string, extra: Partial<EdgeEvent> = {}): EdgeEvent {
  const timestamp = new Date(T0 + seq * 1000).toISOString();
  return {
    id: `${source}:${seq}`, type, source, timestamp, seq, payload: {},
    metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null },
    ...extra,
  };
}

function reading(seq: number, source: string, sensor: string, value: number): EdgeEvent {
  const e = event(seq, 'DeviceData', source, { device: { id: source }, payload: { value } });
  e.sensor = { type: sensor, value, unit: 'C', accuracy: null, timestamp: e.timestamp };
  return e;
}

function route(over: Partial<RouteConfig>): RouteConfig {
  return { name: 'r', match: { types: null, sensors: null, sources: null }, where: null, destination: 'upstream', topic: 'out/{type}', priority: 0, sample: null, ...over };
}

const item = (e: EdgeEvent): StoredItem => StoredItem.of(encodeValue(e));
const timeOf = (e: EdgeEvent): number => Date.parse(e.timestamp);

describe('a route topic template', () => {
  it('fills the gateway id, event paths and the sensor and device aliases, one level per value', () => {
    const topic = compileTopicTemplate('edgebus/{gatewayId}/{type}/{source}/{sensor}/{device}/{payload.zone}', 'gw-1', []);
    const e = reading(1, 'site-a-1', 'temperature', 20);
    e.payload.zone = 'north';
    assert.equal(topic(e), 'edgebus/gw-1/DeviceData/site-a-1/temperature/site-a-1/north');
  });

  it('never lets a value add a wildcard or an empty level', () => {
    const topic = compileTopicTemplate('x/{source}/{sensor}', 'gw', []);
    assert.equal(topic(event(1, 'Alert', 'a+b#c')), 'x/a_b_c/_');
  });

  it('refuses wildcards, unknown fields, empty and unbalanced placeholders at load', () => {
    const bad: [string, RegExp][] = [
      ['a/+/b', /cannot hold \+ or #/],
      ['a/{vaule}', /unknown field "vaule"/],
      ['a/{}', /empty placeholder/],
      ['a/{source', /unbalanced/],
      ['a/source}', /unbalanced/],
    ];
    for (const [template, message] of bad) {
      assert.throws(() => compileTopicTemplate(template, 'gw', ['routes', 0, 'upstream']), (err: unknown) =>
        err instanceof RuleError && message.test(err.message) && err.path.join('.') === 'routes.0.upstream', template);
    }
  });
});

describe('route matching', () => {
  it('takes what match and where both accept, with source globs as the rules have them', () => {
    const r = compileRoute(route({ match: { types: ['DeviceData'], sensors: null, sources: ['site-a-*'] }, where: { value: { gt: 10 } } }), 'gw', ['routes', 0]);
    assert.equal(r.matches(reading(1, 'site-a-1', 't', 11)), true);
    assert.equal(r.matches(reading(2, 'site-a-1', 't', 10)), false, 'where fails');
    assert.equal(r.matches(reading(3, 'site-b-1', 't', 11)), false, 'source fails');
    assert.equal(r.matches(event(4, 'Alert', 'site-a-1', { payload: { value: 50 } })), false, 'type fails');
  });

  it('reports a bad condition at its path under the route', () => {
    assert.throws(() => compileRoute(route({ where: { value: { gtt: 1 } } }), 'gw', ['routes', 2]),
      (err: unknown) => err instanceof RuleError && err.path.join('.').startsWith('routes.2.where.value'));
  });
});

describe('sampling', () => {
  it('every N keeps the first and then every Nth event of each source and sensor', () => {
    const s = new Sampler({ every: 3 });
    const kept = (source: string, sensor: string, n: number): number[] => {
      const out: number[] = [];
      for (let i = 1; i <= n; i++) if (s.keep(reading(i, source, sensor, i), T0 + i)) out.push(i);
      return out;
    };
    assert.deepEqual(kept('a', 't', 7), [1, 4, 7]);
    assert.deepEqual(kept('a', 'h', 4), [1, 4], 'another sensor counts on its own');
    assert.deepEqual(kept('b', 't', 2), [1], 'another source counts on its own');
  });

  it('interval keeps at most one event per interval of event time per source and sensor', () => {
    const s = new Sampler({ intervalMs: 10_000 });
    const times = [0, 3_000, 9_999, 10_000, 15_000, 25_000, 26_000];
    const kept = times.filter((t, i) => s.keep(reading(i, 'a', 't', i), T0 + t));
    assert.deepEqual(kept, [0, 10_000, 25_000]);
    assert.equal(s.keep(reading(99, 'b', 't', 0), T0 + 3_000), true, 'another source has its own interval');
    assert.equal(s.keep(reading(100, 'a', 't', 0), NaN), true, 'an event without a time is never thinned away');
  });
});

describe('splitting a batch by topic', () => {
  const routes: RouteConfig[] = [
    route({ name: 'site-a', match: { types: ['DeviceData'], sensors: null, sources: ['site-a-*'] }, topic: 'edgebus/{gatewayId}/{type}/{source}', priority: 1 }),
    route({ name: 'alerts', match: { types: ['Alert'], sensors: null, sources: null }, topic: 'alerts/{gatewayId}', priority: 10 }),
    route({ name: 'local-b', match: { types: null, sensors: null, sources: ['site-b-*'] }, destination: 'local', topic: 'local/{source}' }),
    route({ name: 'thin', match: { types: ['DeviceData'], sensors: ['humidity'], sources: null }, topic: 'thin/{source}', sample: { every: 2 } }),
  ];

  it('gives one group per topic, events in seq order, highest priority first, the default topic for what no route takes', () => {
    const routing = new UpstreamRouting(routes, 'gw', 'edgebus/gw/events');
    const events = [
      reading(1, 'site-a-1', 'temperature', 1),
      event(2, 'Alert', 'rules'),
      reading(3, 'site-b-1', 'temperature', 1),
      reading(4, 'site-a-2', 'temperature', 1),
      event(5, 'SystemEvent', 'gw'),
      reading(6, 'site-a-1', 'temperature', 2),
    ];
    const groups = routing.groups(events.map(item), timeOf);
    assert.deepEqual(groups.map((g) => [g.topic, g.items.map((i) => i.head.seq)]), [
      ['alerts/gw', [2]],
      ['edgebus/gw/DeviceData/site-a-1', [1, 6]],
      ['edgebus/gw/DeviceData/site-a-2', [4]],
      ['edgebus/gw/events', [5]],
    ], 'seq 3 is taken by a local route only: it leaves no topic upstream');
  });

  it('sends an event to every route that takes it, once per distinct topic', () => {
    const routing = new UpstreamRouting([
      route({ name: 'one', topic: 'all/{type}' }),
      route({ name: 'two', topic: 'all/{type}' }),
      route({ name: 'three', match: { types: ['Alert'], sensors: null, sources: null }, topic: 'alerts' }),
    ], 'gw', 'default');
    const groups = routing.groups([item(event(1, 'Alert', 'r')), item(event(2, 'Alert', 'r'))], timeOf);
    assert.deepEqual(groups.map((g) => [g.topic, g.items.map((i) => i.head.seq)]), [['all/Alert', [1, 2]], ['alerts', [1, 2]]]);
  });

  it('decides a sampled event once: a batch sent again thins the same way until the cursor passes it', () => {
    const routing = new UpstreamRouting(routes, 'gw', 'edgebus/gw/events');
    const batch = [1, 2, 3, 4, 5].map((i) => item(reading(i, 'h-1', 'humidity', i)));
    const seqs = (): number[] => routing.groups(batch, timeOf).flatMap((g) => g.items.map((i) => i.head.seq));
    assert.deepEqual(seqs(), [1, 3, 5]);
    assert.deepEqual(seqs(), [1, 3, 5], 'the resend keeps the same events');
    routing.passed(5);
    // Past the cursor the decisions are forgotten: the counter goes on from where it was.
    assert.deepEqual(seqs(), [2, 4]);
  });

  it('budgets the longest topic a batch may go out on', () => {
    const routing = new UpstreamRouting(routes, 'gw', 'edgebus/gw/events');
    assert.ok(routing.topicBytes >= Buffer.byteLength('edgebus/gw/{type}/{source}') + 2 * 100);
  });
});
