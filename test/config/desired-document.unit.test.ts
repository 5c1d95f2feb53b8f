// The desired-state document (README "Fleets" › "Desired state"): its schema, the allow-list of
// remotely settable config keys, file names the gateway may write, and the hash.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDesired } from '../../src/config/desired-document.js';

const YAML_DOC = [
  'version: 7', //                       1
  'rules:', //                           2
  '  hot.yaml: "id: hot"', //            3
  'config:', //                          4
  '  log: { level: debug }', //          5
  '  store: { retention: 3d }', //       6
  '',
].join('\n');

describe('desired-state document', () => {
  test('a sound document parses, and its hash ignores layout, key order and JSON vs YAML', () => {
    const yaml = parseDesired(YAML_DOC, 'd.yaml');
    assert.deepEqual(yaml.issues, []);
    assert.equal(yaml.doc?.version, 7);
    assert.equal(yaml.doc?.rules?.['hot.yaml'], 'id: hot');
    const json = parseDesired(JSON.stringify({ config: { store: { retention: '3d' }, log: { level: 'debug' } }, rules: { 'hot.yaml': 'id: hot' }, version: 7 }, null, 2), 'd.json');
    assert.deepEqual(json.issues, []);
    assert.match(yaml.hash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(json.hash, yaml.hash);
    const other = parseDesired(YAML_DOC.replace('3d', '4d'), 'd.yaml');
    assert.notEqual(other.hash, yaml.hash, 'a changed value changes the hash');
  });

  test('config keys outside the allow-list are refused with file:line and the keys allowed', () => {
    const r = parseDesired(['version: 1', 'config:', '  dataDir: /tmp', '  broker: { port: 1 }', '  upstream: { url: mqtt://x, inflight: 8 }', ''].join('\n'), 'd.yaml');
    assert.equal(r.doc, null);
    const keys = r.issues.map((i) => `${i.line}:${i.key}`).sort();
    assert.deepEqual(keys, ['3:config.dataDir', '4:config.broker', '5:config.upstream.url']);
    assert.match(r.issues[0].message, /unknown key \(expected one of: log, upstream, store, schedules\)/);
  });

  test('allow-listed values are validated as in edgebus.yaml', () => {
    const r = parseDesired(['version: 1', 'config:', '  upstream:', '    batch: { linger: 2 fortnights }', ''].join('\n'), 'd.yaml');
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0].key, 'config.upstream.batch.linger');
    assert.equal(r.issues[0].line, 4);
    assert.match(r.issues[0].message, /duration.*2 fortnights/);
  });

  test('a file name with a folder or without .yaml is refused at its line', () => {
    const r = parseDesired(['version: 1', 'rules:', '  ../etc/x.yaml: "id: x"', 'devices:', '  meter.txt: "id: m"', ''].join('\n'), 'd.yaml');
    assert.equal(r.doc, null);
    assert.deepEqual(r.issues.map((i) => `${i.line}:${i.key}`), ['3:rules.../etc/x.yaml', '5:devices.meter.txt']);
    assert.match(r.issues[0].message, /no folders/);
  });

  test('a missing version, a bad version and a non-mapping are issues, not throws', () => {
    assert.equal(parseDesired('rules: {}\n', 'd.yaml').issues[0]?.message, 'missing required key "version"');
    assert.equal(parseDesired('version: "two words"\n', 'd.yaml').issues.length > 0, true);
    assert.match(parseDesired('- 1\n', 'd.yaml').issues[0]?.message ?? '', /expected a mapping/);
    assert.equal(parseDesired('version: [1\n', 'd.yaml').issues[0]?.file, 'd.yaml');
  });
});
