// The one topic matcher (src/util/topic-match.ts): MQTT filters for broker users and the
// command topic, templates with {name} captures for the ingest mappings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capture, matches, validFilter } from '../../src/util/topic-match.js';

const m = (pattern: string, topic: string, kind: 'filter' | 'template' = 'filter') => matches(pattern.split('/'), topic.split('/'), topic, kind);
const c = (pattern: string, topic: string, kind: 'filter' | 'template' = 'filter') => capture(pattern.split('/'), topic.split('/'), topic, kind);

describe('topic matching', () => {
  it('MQTT filters: + one level (empty too), # the rest including the parent', () => {
    assert.ok(m('a/+/c', 'a/b/c'));
    assert.ok(m('a/+/c', 'a//c'));
    assert.ok(!m('a/+/c', 'a/b/d'));
    assert.ok(m('a/#', 'a'));
    assert.ok(m('a/#', 'a/b/c'));
    assert.ok(!m('a/b', 'a/b/c'));
    assert.ok(m('#', 'anything/at/all'));
  });

  it('a wildcard first level does not match a $ topic; a literal $ level does', () => {
    assert.ok(!m('#', '$SYS/broker'));
    assert.ok(!m('+/broker', '$SYS/broker'));
    assert.ok(!m('{x}/broker', '$SYS/broker', 'template'));
    assert.ok(m('$SYS/#', '$SYS/broker'));
  });

  it('a subscription filter as the topic: only # covers #, + does not', () => {
    assert.ok(m('a/#', 'a/#'));
    assert.ok(!m('a/+', 'a/#'));
    assert.ok(m('a/+', 'a/+'));
  });

  it('{name} captures one non-empty level in a template, and is literal text in a filter', () => {
    assert.deepEqual(c('sensors/{device}/{sensor}', 'sensors/gh-1/temp', 'template')?.named, { device: 'gh-1', sensor: 'temp' });
    assert.equal(c('sensors/{device}/{sensor}', 'sensors//temp', 'template'), null);
    assert.ok(!m('sensors/{device}/x', 'sensors/gh-1/x'), 'a broker user\'s rule is not widened by braces');
    assert.ok(m('sensors/{device}/x', 'sensors/{device}/x'));
  });

  it('says what + and # matched', () => {
    assert.deepEqual(c('cmd/+/set/#', 'cmd/pump/set/a/b'), { plus: ['pump'], named: {}, rest: ['a', 'b'] });
    assert.deepEqual(c('cmd/#', 'cmd'), { plus: [], named: {}, rest: [] });
    assert.equal(c('cmd/+', 'other/x'), null);
  });

  it('validates filters', () => {
    assert.equal(validFilter('a/+/#'), null);
    assert.equal(validFilter(''), 'empty filter');
    assert.equal(validFilter('a/#/b'), '# must be the last level');
    assert.equal(validFilter('a/b#'), '# must stand alone in its level');
    assert.equal(validFilter('a/b+'), '+ must stand alone in its level');
  });
});
