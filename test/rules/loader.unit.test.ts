// Rule files (SPEC §5) → CompiledRules, and every mistake as `file:line: key: message`.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatIssue } from '../../src/config/validate.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { listRuleFiles, loadRuleFile, loadRulesDir } from '../../src/rules/loader.js';
import { issueChecks } from '../helpers/issues.js';
import { ROOT } from '../helpers/paths.js';
import { tempDirFor } from '../helpers/tmp.js';

const EXAMPLES = join(ROOT, 'rules');

const FILE = '/rules/test.yaml';

const { issuesOf, assertOneIssue } = issueChecks(FILE, loadRuleFile);

function compileOne(lines: string[]) {
  const r = loadRuleFile(FILE, lines.join('\n') + '\n');
  assert.deepEqual(r.issues.map(formatIssue), []);
  assert.equal(r.rules.length, 1);
  return r.rules[0];
}

function reading(sensor: string, value: unknown, extra: Partial<EdgeEvent> = {}): EdgeEvent {
  const timestamp = '2026-11-26T01:02:03.456Z';
  return {
    id: 'e1', type: 'DeviceData', source: 'gh-1', timestamp, seq: 1, payload: { value: value as number },
    sensor: { type: sensor, value: value as number, unit: null, accuracy: null, timestamp },
    metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null },
    ...extra,
  };
}

describe('example rules', () => {
  test('every file in rules/ loads with no issues', () => {
    const files = listRuleFiles(EXAMPLES);
    assert.ok(files.length >= 5, `examples in ${EXAMPLES}`);
    for (const file of files) {
      const r = loadRuleFile(file);
      assert.deepEqual(r.issues.map(formatIssue), [], file);
      assert.ok(r.rules.length >= 1, `${file} holds a rule`);
    }
    const { rules, issues } = loadRulesDir(EXAMPLES);
    assert.deepEqual(issues, []);
    assert.deepEqual(rules.map((r) => r.id).sort(), [
      'door-then-motion', 'greenhouse-overheat', 'heartbeat-lost', 'humidity-high', 'temperature-rising-fast',
    ]);
  });

  test('overheat compiles to what SPEC §5 describes', () => {
    const rule = loadRuleFile(join(EXAMPLES, 'overheat.yaml')).rules[0];
    assert.deepEqual(rule.match, { types: ['DeviceData'], sensors: ['temperature'], sources: null });
    assert.deepEqual(rule.window, { kind: 'sliding', ms: 60_000 });
    assert.deepEqual(rule.groupBy, ['source']);
    assert.equal(rule.cooldownMs, 300_000);
    assert.deepEqual(rule.aggregates.map((a) => a.key).sort(), ['count', 'max(value)']);
    assert.ok(rule.where!(reading('temperature', 31)));
    assert.ok(!rule.where!(reading('temperature', 29)));
    assert.ok(rule.clear!.where!(reading('temperature', 27)));
    assert.deepEqual(rule.actions, [{ publish: { topic: 'cmd/{group}/fan', payload: 'on', qos: 1, retain: false } }]);
  });
});

describe('compileRule', () => {
  test('defaults: emit, cooldown, one group, no window', () => {
    const rule = compileOne(['id: plain', 'match: { type: [DeviceData, DeviceStatus], sensor: door }']);
    assert.deepEqual(rule.emit, { type: 'Alert', severity: 'warning', priority: 'high', topic: 'alerts/{rule}/{group}', message: '{rule} {state} for {group}', payload: null });
    assert.equal(rule.cooldownMs, 0);
    assert.equal(rule.description, null);
    assert.equal(rule.groupBy, null);
    assert.equal(rule.window, null);
    assert.deepEqual(rule.having, []);
    assert.equal(rule.clear, null);
    assert.deepEqual(rule.match, { types: ['DeviceData', 'DeviceStatus'], sensors: ['door'], sources: null });
    assert.equal(rule.file, FILE);
    assert.equal(rule.line, 1);
  });

  test('windows, for and absent in ms', () => {
    assert.deepEqual(compileOne(['id: a', 'window: { count: 5 }']).window, { kind: 'count', n: 5 });
    assert.deepEqual(compileOne(['id: a', 'window: { session: 30s }']).window, { kind: 'session', gapMs: 30_000 });
    assert.deepEqual(compileOne(['id: a', 'window: { tumbling: 10m }']).window, { kind: 'tumbling', ms: 600_000 });
    assert.equal(compileOne(['id: a', 'where: { value: { gt: 1 } }', 'for: 5m']).sustainedMs, 300_000);
    assert.equal(compileOne(['id: a', 'absent: 2m']).absentMs, 120_000);
  });

  test('aggregates come from having, clear.having and templates, once each', () => {
    const rule = compileOne([
      'id: a',
      'window: { sliding: 60s }',
      'having: { count: { gte: 3 }, "avg(value)": { gt: 1 } }',
      'clear: { having: { "avg(value)": { lt: 1 } } }',
      'emit: { message: "{group}: {max(value)} / {count} at {source}", topic: "alerts/{rule}/{min(value)}" }',
      'actions:',
      '  - publish: { topic: "cmd/{group}", payload: { peak: "{last(value)}", fixed: 1 }, qos: 0, retain: true }',
    ]);
    assert.deepEqual(rule.aggregates.map((a) => a.key).sort(), ['avg(value)', 'count', 'last(value)', 'max(value)', 'min(value)']);
    assert.deepEqual(rule.actions[0].publish, { topic: 'cmd/{group}', payload: '{"peak":"{last(value)}","fixed":1}', qos: 0, retain: true });
  });

  test('a sequence: top-level match fills what a step leaves out, top-level where joins every step', () => {
    const rule = compileOne([
      'id: seq',
      'match: { type: DeviceData, source: "hall-*" }',
      'where: { payload.armed: { eq: true } }',
      'groupBy: [payload.room]',
      'sequence:',
      '  - { as: door, match: { sensor: door } }',
      '  - { as: motion, match: { sensor: motion, source: cam-1 }, where: { value: { eq: 1 } }, within: 10s }',
    ]);
    const [door, motion] = rule.sequence!;
    assert.deepEqual(door.match, { types: ['DeviceData'], sensors: ['door'], sources: ['hall-*'] });
    assert.deepEqual(motion.match, { types: ['DeviceData'], sensors: ['motion'], sources: ['cam-1'] });
    assert.equal(door.withinMs, null);
    assert.equal(motion.withinMs, 10_000);
    assert.deepEqual(rule.match, { types: ['DeviceData'], sensors: ['door', 'motion'], sources: ['hall-*', 'cam-1'] });
    assert.equal(rule.where, null, 'folded into the steps');
    const armed = { payload: { value: 1, armed: true } };
    assert.ok(door.where!(reading('door', 1, armed)));
    assert.ok(!door.where!(reading('door', 1)), 'the top-level where applies to step 1');
    assert.ok(motion.where!(reading('motion', 1, armed)));
    assert.ok(!motion.where!(reading('motion', 0, armed)), 'and the step where too');
  });

  test('bare scalars in publish payloads become text', () => {
    const rule = compileOne(['id: a', 'actions:', '  - publish: { topic: t, payload: 1 }']);
    assert.equal(rule.actions[0].publish.payload, '1');
  });
});

describe('bad rule files give file:line: key: message', () => {
  test('an unknown key names the key and lists the known ones', () => {
    assertOneIssue(['id: a', 'match: { type: DeviceData }', 'windw: { sliding: 60s }'], 3, 'windw', /unknown key.*window/);
  });

  test('a bad duration names the value and what was expected', () => {
    assertOneIssue(['id: a', 'window:', '  sliding: 60 parsecs'], 3, 'window.sliding', /duration.*"60 parsecs"/);
    assertOneIssue(['id: a', 'cooldown: soon'], 2, 'cooldown', /duration.*"soon"/);
  });

  test('a bad operator inside where names the operator', () => {
    assertOneIssue(['id: a', 'where:', '  all:', '    - value:', '        gtt: 30'], 5, 'where.all.0.value.gtt', /unknown operator "gtt"/);
  });

  test('a bad aggregate in having names the aggregate', () => {
    assertOneIssue(['id: a', 'window: { sliding: 1m }', 'having:', '  count: { gte: 3 }', '  "mx(value)": { gt: 1 }'], 5, 'having.mx(value)', /unknown aggregate "mx\(value\)"/);
  });

  test('a bad placeholder in a template', () => {
    assertOneIssue(['id: a', 'emit:', '  message: "{mx(value)} hot"'], 3, 'emit.message', /unknown aggregate "mx\(value\)"/);
    assertOneIssue(['id: a', 'emit:', '  message: "{vaule} hot"'], 3, 'emit.message', /unknown field "vaule"/);
  });

  test('a bad event type lists the types, once', () => {
    assertOneIssue(['id: a', 'match: { type: DeviceDta }'], 2, 'match.type', /expected one of DeviceData.*"DeviceDta"/);
    assertOneIssue(['id: a', 'match:', '  type: [DeviceData, Bogus]'], 3, 'match.type.1', /"Bogus"/);
  });

  test('a missing or bad id', () => {
    assertOneIssue(['where: { value: { gt: 1 } }'], 1, '', /^missing required key "id"/);
    assert.match(issuesOf(['id: "a/b"'])[0], /:1: id: expected a rule id .*"a\/b"/);
  });

  test('combinations that make no sense', () => {
    assertOneIssue(['id: a', 'where: { value: { gt: 1 } }', 'having:', '  count: { gte: 3 }'], 3, 'having', /needs a window/);
    assertOneIssue(['id: a', 'window: { sliding: 1m }', 'absent: 2m'], 3, 'absent', /cannot be combined with window/);
    assertOneIssue(['id: a', 'window: { sliding: 1m, count: 3 }'], 2, 'window', /exactly one of sliding, tumbling, count, session \(got sliding and count\)/);
    assertOneIssue(['id: a', 'window: {}'], 2, 'window', /exactly one .*\(got none\)/);
    assertOneIssue(['id: a', 'for: 5m'], 2, 'for', /needs a where/);
    assertOneIssue(['id: a', 'absent: 2m', 'clear: { where: { value: { gt: 1 } } }'], 3, 'clear', /next matching event/);
    assertOneIssue(['id: a', 'window: { sliding: 1m }', 'clear: {}'], 3, 'clear', /where and\/or having/);
    assertOneIssue(['id: a', 'clear:', '  having: { count: { gt: 1 } }'], 3, 'clear.having', /needs a window/);
    assertOneIssue(['id: a', 'window: { sliding: 0s }'], 2, 'window.sliding', /longer than 0/);
    assertOneIssue(['id: a', 'sequence:', '  - { as: x, within: 1s }', '  - { as: y }'], 3, 'sequence.0.within', /first step/);
    assertOneIssue(['id: a', 'sequence:', '  - { as: x }', '  - { as: x }'], 4, 'sequence.1.as', /duplicate step name "x"/);
  });

  test('emit keys that do not go with its type', () => {
    assertOneIssue(['id: a', 'emit:', '  type: BusinessEvnt'], 3, 'emit.type', /expected one of Alert, BusinessEvent, Command, SystemEvent.*"BusinessEvnt"/);
    assertOneIssue(['id: a', 'emit:', '  type: BusinessEvent', '  severity: critical'], 4, 'emit.severity', /only an Alert has a severity \(emit\.type is BusinessEvent\)/);
    assertOneIssue(['id: a', 'emit:', '  type: SystemEvent', '  message: hi'], 4, 'emit.message', /only an Alert has a message/);
    assertOneIssue(['id: a', 'emit:', '  payload: { x: 1 }'], 3, 'emit.payload', /an Alert makes its own payload/);
    assertOneIssue(['id: a', 'emit:', '  type: Command', '  payload: { on: true }'], 3, 'emit.type', /a Command needs a topic/);
    assertOneIssue(['id: a', 'emit:', '  type: BusinessEvent', '  payload: bad'], 4, 'emit.payload', /expected object/);
  });

  test('a bad placeholder in a derived event\'s payload names its path', () => {
    assertOneIssue(['id: a', 'emit:', '  type: BusinessEvent', '  payload:', '    deep: { x: "{vaule}" }'], 5, 'emit.payload.deep.x', /unknown field "vaule"/);
    assertOneIssue(['id: a', 'emit:', '  type: BusinessEvent', '  payload:', '    list: [ok, "{mx(value)}"]'], 5, 'emit.payload.list.1', /unknown aggregate "mx\(value\)"/);
  });

  test('a YAML syntax error has its line', () => {
    const issues = issuesOf(['id: a', 'where: { value: { gt: 1 }', 'emit: {}']);
    assert.ok(issues.length >= 1);
    assert.match(issues[0], /^\/rules\/test\.yaml:\d+: /);
  });

  test('a list file with a bad second rule points at its line; the others load', () => {
    const text = [
      '- id: first', //                      1
      '  where: { value: { gt: 1 } }', //    2
      '- id: second', //                     3
      '  where:', //                         4
      '    value: { between: 3 }', //        5
      '- id: third', //                      6
      '  window: { slidin: 60s }', //        7
      '- id: fourth', //                     8
      '',
    ].join('\n');
    const r = loadRuleFile(FILE, text);
    assert.deepEqual(r.rules.map((x) => [x.id, x.line]), [['first', 1], ['fourth', 8]]);
    const issues = r.issues.map(formatIssue);
    assert.equal(issues.length, 2, issues.join('\n'));
    assert.match(issues[0], /^\/rules\/test\.yaml:5: 1\.where\.value\.between: .*between/);
    assert.match(issues[1], /^\/rules\/test\.yaml:7: 2\.window\.slidin: unknown key/);
    assert.deepEqual(r.failedIds, ['second', 'third']);
  });

  test('a duplicate id in one file: the second is an issue and skipped', () => {
    const r = loadRuleFile(FILE, ['- id: same', '  description: one', '- id: same', '  description: two', ''].join('\n'));
    assert.deepEqual(r.rules.map((x) => x.description), ['one']);
    assert.deepEqual(r.issues.map(formatIssue), [`${FILE}:3: 1.id: duplicate rule id "same" (already defined at line 1); this one is skipped`]);
  });

  test('a file that is not a rule', () => {
    assert.deepEqual(issuesOf(['42']), [`${FILE}:1: expected a rule (a mapping with an id) or a list of rules`]);
    assert.deepEqual(loadRuleFile(FILE, '# switched off\n'), { rules: [], issues: [], failedIds: [] });
  });
});

describe('loadRulesDir', () => {
  test('a missing dir has no rules and no issues', () => {
    const r = loadRulesDir('/nonexistent/edgebus/rules');
    assert.deepEqual([r.rules, r.issues, r.files.size], [[], [], 0]);
  });

  test('yaml and yml only, sorted; a duplicate id across files skips the later one', (t) => {
    const tmpDir = tempDirFor(t);
    const dir = join(tmpDir, 'rules');
    mkdirSync(dir);
    writeFileSync(join(dir, 'b.yml'), 'id: shared\ndescription: from b\n');
    writeFileSync(join(dir, 'a.yaml'), '# first\nid: shared\ndescription: from a\n');
    writeFileSync(join(dir, 'c.yaml'), '- id: other\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a rule');
    const r = loadRulesDir(dir);
    assert.deepEqual(r.rules.map((x) => [x.id, x.description]), [['shared', 'from a'], ['other', null]]);
    assert.deepEqual(r.issues.map(formatIssue), [
      `${join(dir, 'b.yml')}:1: id: duplicate rule id "shared" (already defined at ${join(dir, 'a.yaml')}:2); this one is skipped`,
    ]);
    assert.deepEqual([...r.files.keys()], ['a.yaml', 'b.yml', 'c.yaml'].map((f) => join(dir, f)));
    assert.deepEqual(r.files.get(join(dir, 'b.yml')), []);
  });
});
