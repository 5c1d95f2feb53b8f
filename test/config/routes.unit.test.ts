// `routes:` in edgebus.yaml: what a good list resolves to, and every mistake reported as
// file:line: key: message — unknown keys, a missing or double destination, bad topic
// templates, bad conditions, bad samples — the same way `edgebus check` prints them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { routeCompiles } from '../../src/routes/config-check.js';
import { SchemaError } from '../../src/config/validate.js';
import { runCli } from '../helpers/daemon.js';
import { tempDirFor } from '../helpers/tmp.js';

const UPSTREAM = ['gatewayId: gw-1', 'upstream:', '  url: mqtt://127.0.0.1:1'];

function write(t: TestContext, lines: string[]): string {
  const file = join(tempDirFor(t, 'edgebus-routes-'), 'edgebus.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function errorsFor(t: TestContext, lines: string[]): { errors: string[]; file: string } {
  const file = write(t, lines);
  try {
    loadConfig({ file, env: {}, routeCheck: routeCompiles });
  } catch (err) {
    assert.ok(err instanceof SchemaError, `expected a SchemaError, got ${String(err)}`);
    return { errors: err.message.split('\n'), file };
  }
  assert.fail('expected loadConfig to throw');
}

describe('routes in the config', () => {
  test('no routes: an empty list, every event on the default topic as before', (t) => {
    const { config } = loadConfig({ file: write(t, UPSTREAM), env: {} });
    assert.deepEqual(config.routes, []);
    assert.equal(config.upstream?.topic, 'edgebus/gw-1/events');
  });

  test('a good list resolves: match lists, {gatewayId} filled, samples in ms, names defaulted', (t) => {
    const { config } = loadConfig({
      file: write(t, [...UPSTREAM,
        'routes:',
        '  - name: site-a',
        '    match: { type: DeviceData, source: "site-a-*" }',
        '    where: { value: { gt: 10 } }',
        '    upstream: edgebus/{gatewayId}/{type}/{source}',
        '    priority: 5',
        '    eventVersion: latest',
        '  - match: { sensor: [humidity, co2] }',
        '    local: local/{source}/{sensor}',
        '    sample: { interval: 10s }',
        '  - upstream: thin/{source}',
        '    sample: { every: 10 }',
      ]),
      env: {},
    });
    assert.deepEqual(config.routes, [
      { name: 'site-a', match: { types: ['DeviceData'], sensors: null, sources: ['site-a-*'] }, where: { value: { gt: 10 } }, destination: 'upstream', topic: 'edgebus/gw-1/{type}/{source}', priority: 5, sample: null, eventVersion: 'latest' },
      { name: 'routes.1', match: { types: null, sensors: ['humidity', 'co2'], sources: null }, where: null, destination: 'local', topic: 'local/{source}/{sensor}', priority: 0, sample: { intervalMs: 10_000 }, eventVersion: null },
      { name: 'routes.2', match: { types: null, sensors: null, sources: null }, where: null, destination: 'upstream', topic: 'thin/{source}', priority: 0, sample: { every: 10 }, eventVersion: null },
    ]);
  });

  test('schema mistakes name the line and key: unknown keys, a bad event type, a bad sample', (t) => {
    const { errors, file } = errorsFor(t, [...UPSTREAM, //   1-3
      'routes:', //                                          4
      '  - upstream: a/{type}', //                           5
      '    topic: b', //                                     6
      '    match: { type: DeviceDta }', //                   7
      '    sample: { every: 0 }', //                         8
    ]);
    assert.ok(errors.some((e) => e.startsWith(`${file}:6: routes.0.topic: unknown key (expected one of: name, match, where, upstream, local, priority, eventVersion, sample)`)), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith(`${file}:7: routes.0.match.type: expected one of DeviceData`)), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith(`${file}:8: routes.0.sample.every: expected a number >= 1`)), errors.join('\n'));
  });

  test('what the schema cannot say: destinations, templates, conditions, samples, an upstream route without upstream', (t) => {
    const { errors, file } = errorsFor(t, [...UPSTREAM, //                1-3
      'routes:', //                                                       4
      '  - match: { type: Alert }', //                                    5: no destination
      '  - upstream: a/{type}', //                                        6
      '    local: b/{type}', //                                           7: both
      '  - upstream: "a/{vaule}/x"', //                                   8
      '  - upstream: "a/+/x"', //                                         9
      '  - local: "a/{source"', //                                        10
      '  - local: a/{source}', //                                         11
      '    where: { value: { gtt: 3 } }', //                              12
      '  - local: a/{source}', //                                         13
      '    sample: { every: 2, interval: 5s }', //                        14
      '  - local: a/{source}', //                                         15
      '    sample: { interval: 0s }', //                                  16
      '  - name: dup', //                                                 17
      '    local: a', //                                                  18
      '  - name: dup', //                                                 19
      '    local: b', //                                                  20
      '  - local: c', //                                                  21
      '    eventVersion: latest', //                                      22
    ]);
    const want: [number, string, RegExp][] = [
      [5, 'routes.0', /expected exactly one destination, upstream: TOPIC or local: TOPIC \(got none\)/],
      [7, 'routes.1.local', /expected exactly one destination.*\(got both\)/],
      [8, 'routes.2.upstream', /unknown field "vaule"/],
      [9, 'routes.3.upstream', /cannot hold \+ or #/],
      [10, 'routes.4.local', /unbalanced \{ or \}/],
      [12, 'routes.5.where.value.gtt', /unknown operator "gtt"/],
      [14, 'routes.6.sample', /exactly one of every .* or interval .*got both/],
      [16, 'routes.7.sample.interval', /must be longer than 0/],
      [19, 'routes.9.name', /duplicate route name "dup" \(also routes.8\)/],
      [22, 'routes.10.eventVersion', /applies to upstream routes only/],
    ];
    for (const [line, key, message] of want) {
      const hit = errors.find((e) => e.startsWith(`${file}:${line}: ${key}: `));
      assert.ok(hit, `no error at line ${line} for ${key} in:\n${errors.join('\n')}`);
      assert.match(hit, message);
    }
    assert.equal(errors.length, want.length, errors.join('\n'));
  });

  test('an upstream route needs the upstream section', (t) => {
    const { errors, file } = errorsFor(t, ['routes:', '  - upstream: a/{type}']);
    assert.deepEqual(errors, [`${file}:2: routes.0.upstream: an upstream route needs the upstream section (upstream.url)`]);
  });

  test('edgebus check prints the same file:line errors and fails', async (t) => {
    const file = write(t, [...UPSTREAM, 'routes:', '  - upstream: "a/{vaule}"']);
    const r = await runCli(['check', '--config', file], { env: { EDGEBUS_CONFIG: undefined } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: routes\\.0\\.upstream: unknown field "vaule"`));
  });
});
