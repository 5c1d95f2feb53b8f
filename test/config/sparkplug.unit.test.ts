// `upstream.format: sparkplug` and its `upstream.sparkplug` section: defaults from the
// gateway id, and errors that name file:line, the key and what was expected.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { SchemaError } from '../../src/config/validate.js';
import { tempDirFor } from '../helpers/tmp.js';

function load(t: TestContext, text: string): { file: string; run: () => ReturnType<typeof loadConfig> } {
  const dir = tempDirFor(t, 'edgebus-config-');
  const file = join(dir, 'edgebus.yaml');
  writeFileSync(file, text);
  return { file, run: () => loadConfig({ file, env: {}, cwd: dir }) };
}

function errorLines(t: TestContext, text: string): { file: string; lines: string[] } {
  const { file, run } = load(t, text);
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof SchemaError, `expected a SchemaError, got ${String(err)}`);
    return { file, lines: err.message.split('\n') };
  }
  assert.fail('expected the config to be refused');
}

describe('upstream.format: sparkplug', () => {
  it('defaults the group and edge node ids to the gateway id, with no primary host', (t) => {
    const { config } = load(t, 'gatewayId: gw-5\nupstream:\n  url: mqtt://cloud:1883\n  format: sparkplug\n').run();
    assert.equal(config.upstream?.format, 'sparkplug');
    assert.deepEqual(config.upstream?.sparkplug, { groupId: 'gw-5', edgeNodeId: 'gw-5', primaryHostId: null });
  });

  it('takes the ids and the primary host as given', (t) => {
    const { config } = load(t, 'gatewayId: gw-5\nupstream:\n  url: mqtt://cloud:1883\n  format: sparkplug\n  sparkplug: { groupId: plant, edgeNodeId: line-1, primaryHostId: scada }\n').run();
    assert.deepEqual(config.upstream?.sparkplug, { groupId: 'plant', edgeNodeId: 'line-1', primaryHostId: 'scada' });
  });

  it('has no sparkplug section for cbor and json', (t) => {
    const { config } = load(t, 'upstream:\n  url: mqtt://cloud:1883\n').run();
    assert.equal(config.upstream?.sparkplug, undefined);
  });

  it('refuses an id that is not one topic level, at its line', (t) => {
    const { file, lines } = errorLines(t, 'upstream:\n  url: mqtt://cloud:1883\n  format: sparkplug\n  sparkplug:\n    groupId: a/b\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: upstream\\.sparkplug\\.groupId: `));
    assert.match(lines[0], /no \/, \+ or #/);
  });

  it('refuses a sparkplug section under another format', (t) => {
    const { file, lines } = errorLines(t, 'upstream:\n  url: mqtt://cloud:1883\n  format: json\n  sparkplug: { groupId: plant }\n');
    assert.deepEqual(lines, [`${file}:4: upstream.sparkplug: applies to format: sparkplug only (format is json)`]);
  });

  it('refuses upstream routes, which would rename Sparkplug topics', (t) => {
    const { file, lines } = errorLines(t, 'upstream:\n  url: mqtt://cloud:1883\n  format: sparkplug\nroutes:\n  - upstream: x/{gatewayId}\n');
    assert.deepEqual(lines, [`${file}:5: routes.0.upstream: upstream routes need upstream.format cbor or json (Sparkplug B names its own topics); use a local route or drop it`]);
  });

  it('names the formats it takes', (t) => {
    const { file, lines } = errorLines(t, 'upstream:\n  url: mqtt://cloud:1883\n  format: protobuf\n');
    assert.deepEqual(lines, [`${file}:3: upstream.format: expected one of cbor, json, sparkplug, got "protobuf"`]);
  });
});
