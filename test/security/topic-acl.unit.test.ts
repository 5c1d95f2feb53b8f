// Topic filters for broker.users (SPEC §2): MQTT matching, {username} rules, validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTopicRule, topicMatches, validTopicFilter } from '../../src/security/topic-acl.js';

describe('topicMatches', () => {
  const cases: [filter: string, topic: string, expected: boolean][] = [
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b/C', false],
    ['+', 'a', true],
    ['+', 'a/b', false],
    ['+', '', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a', false],
    ['a/+', 'a/', true], // an empty level is a level
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true],
    ['a/+/c', 'a/b/d', false],
    ['+/+', '/a', true],
    ['+', '/a', false],
    ['#', 'a', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true], // # includes the parent level
    ['a/#', 'a/b', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['a/#', 'b/a', false],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
    ['/a', '/a', true],
    ['/a', 'a', false],
    ['a/', 'a', false],
    // $-topics are not matched by a leading wildcard (MQTT §4.7.2)
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['+', '$SYS', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['$SYS/+/uptime', '$SYS/broker/uptime', true],
    ['a/#', 'a/$b', true], // only the first level is special
    // a subscription filter checked as a topic: covered only when every topic it receives is
    ['a/#', 'a/+', true],
    ['a/#', 'a/#', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/+/#', 'a/#', false],
    ['a/b', 'a/+', false],
    ['a/#', '#', false],
  ];
  for (const [filter, topic, expected] of cases) {
    test(`${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      assert.equal(topicMatches(filter, topic), expected);
    });
  }
});

describe('compileTopicRule', () => {
  test('undefined allows every topic, [] none', () => {
    const all = compileTopicRule(undefined);
    const none = compileTopicRule([]);
    for (const topic of ['a', 'a/b', '$SYS/x', '']) {
      assert.equal(all(topic, 'u'), true);
      assert.equal(all(topic, null), true);
      assert.equal(none(topic, 'u'), false);
      assert.equal(none(topic, null), false);
    }
  });

  test('any of several filters allows a topic', () => {
    const rule = compileTopicRule(['sensors/+/temp', 'alerts/#']);
    assert.equal(rule('sensors/d1/temp', 'u'), true);
    assert.equal(rule('alerts', 'u'), true);
    assert.equal(rule('alerts/fire/now', null), true);
    assert.equal(rule('sensors/d1/hum', 'u'), false);
    assert.equal(rule('$SYS/alerts', 'u'), false);
  });

  const placeholder: [filters: string[], topic: string, username: string | null, expected: boolean, why: string][] = [
    [['users/{username}/#'], 'users/alice/x', 'alice', true, 'own subtree'],
    [['users/{username}/#'], 'users/alice', 'alice', true, 'own subtree root'],
    [['users/{username}/#'], 'users/bob/x', 'alice', false, "someone else's subtree"],
    [['users/{username}/#'], 'users/alice/x', null, false, 'anonymous never matches a placeholder'],
    [['users/{username}/#'], 'users//x', '', false, 'an empty name never matches a placeholder'],
    [['devices/dev-{username}/status'], 'devices/dev-alice/status', 'alice', true, 'placeholder inside a level'],
    [['devices/dev-{username}/status'], 'devices/alice/status', 'alice', false, 'the prefix is literal'],
    [['{username}/{username}'], 'alice/alice', 'alice', true, 'placeholder twice'],
    [['{username}/{username}'], 'alice/bob', 'alice', false, 'placeholder twice, different'],
    [['{username}/#'], 'alice/x', 'alice', true, 'placeholder as the first level'],
    [['public/#', 'users/{username}/#'], 'public/x', null, true, 'a literal filter still serves anonymous users'],
    [['users/{username}/+'], 'users/alice/x', 'alice', true, 'placeholder with +'],
    [['users/{username}'], 'users/{username}', 'alice', false, 'the placeholder is not literal'],
    // escape attempts: a name that would widen or leave its subtree
    [['users/{username}/#'], 'users/a/b/x', 'a/#', false, 'a/# must not widen the subtree'],
    [['users/{username}/#'], 'users/a/x', 'a/#', false, 'a/# must not match its own prefix'],
    [['users/{username}'], 'users/x', '+', false, '+ as a name'],
    [['users/{username}'], 'users/x/y', '#', false, '# as a name'],
    [['users/{username}/#'], 'users/a/x', 'a/', false, 'a / in a name'],
    [['users/{username}/#'], 'users/a\u0000/x', 'a\u0000', false, 'NUL in a name'],
    [['{username}/#'], '$SYS/broker/uptime', '$SYS', false, 'a $ name must not reach $SYS'],
    [['{username}/#'], '$SYS/x', '$SYS', false, 'a $ name must not reach $SYS'],
    [['$share/{username}/#'], '$share/alice/x', 'alice', true, 'a literal $ first level is the filter\'s own'],
  ];
  for (const [filters, topic, username, expected, why] of placeholder) {
    test(`${why}: ${JSON.stringify(filters)} / ${JSON.stringify(topic)} as ${JSON.stringify(username)} → ${expected}`, () => {
      assert.equal(compileTopicRule(filters)(topic, username), expected);
    });
  }

  test('the rule does not depend on the array after compiling', () => {
    const filters = ['a/#'];
    const rule = compileTopicRule(filters);
    filters[0] = 'b/#';
    assert.equal(rule('a/x', 'u'), true);
    assert.equal(rule('b/x', 'u'), false);
  });
});

describe('validTopicFilter', () => {
  const valid = ['a', 'a/b', '#', '+', 'a/#', 'a/+/c', '+/+/#', '/', '/a', 'a/', 'a//b', '$SYS/#', 'users/{username}/#', 'dev-{username}/x', '{username}', '{other}/x'];
  for (const filter of valid) {
    test(`${JSON.stringify(filter)} is valid`, () => assert.equal(validTopicFilter(filter), null));
  }
  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['a/#/b', /# must be the last level/],
    ['#/a', /# must be the last level/],
    ['a#', /# must stand alone/],
    ['a/b#', /# must stand alone/],
    ['a/#b', /# must stand alone/],
    ['a+', /\+ must stand alone/],
    ['a/+b/c', /\+ must stand alone/],
    ['{username}+', /\+ must stand alone/],
    ['a/\u0000', /NUL/],
    ['a'.repeat(65536), /65535/],
  ];
  for (const [filter, why] of invalid) {
    test(`${JSON.stringify(filter.length > 20 ? filter.slice(0, 10) + '…' : filter)} is invalid: ${why.source}`, () => {
      const reason = validTopicFilter(filter);
      assert.ok(reason !== null, 'a reason');
      assert.match(reason, why);
    });
  }
});
