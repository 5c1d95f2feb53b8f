import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { freeSpaceBytes, parseDuration, parseSince, parseSize, type FreeSpace } from '../../src/config/units.js';
import { SchemaError } from '../../src/config/validate.js';
import { tempDir, tempDirFor } from '../helpers/tmp.js';

/** Writes `text` as `name` in a fresh temp dir; returns the dir and the file path. */
function withFile(name: string, text: string): { dir: string; file: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir('edgebus-config-');
  const file = join(dir, name);
  writeFileSync(file, text);
  return { dir, file, cleanup };
}

/** `name` holding `text` in a directory removed when the test ends. */
function fileFor(t: TestContext, name: string, text: string): { dir: string; file: string } {
  const dir = tempDirFor(t, 'edgebus-config-');
  const file = join(dir, name);
  writeFileSync(file, text);
  return { dir, file };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The SchemaError lines loadConfig throws for `text` (with `env`). */
function errorsFor(text: string, env: NodeJS.ProcessEnv = {}): { lines: string[]; file: string } {
  const { dir, file, cleanup } = withFile('edgebus.yaml', text);
  try {
    loadConfig({ file, env, cwd: dir });
  } catch (err) {
    assert.ok(err instanceof SchemaError, `expected a SchemaError, got ${String(err)}`);
    return { lines: err.message.split('\n'), file };
  } finally {
    cleanup();
  }
  assert.fail('expected loadConfig to throw');
}

describe('config lookup and defaults', () => {
  test('no file anywhere: built-in defaults, file is null', (t) => {
    const dir = tempDirFor(t);
    const { config, file } = loadConfig({ cwd: dir, env: {} });
    assert.equal(file, null);
    assert.equal(config.dataDir, join(dir, 'data'));
    assert.equal(config.rulesDir, join(dir, 'rules'));
    assert.equal(config.devicesDir, join(dir, 'devices'));
    assert.deepEqual({ host: config.broker.host, port: config.broker.port }, { host: '0.0.0.0', port: 1883 });
    assert.equal(config.broker.maxPayload, 64_000);
    assert.equal(config.broker.allowAnonymous, true);
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 9100, token: undefined });
    assert.equal(config.upstream, undefined);
    assert.deepEqual(config.ingest, [
      { topic: 'sensors/{device}/{sensor}', type: 'DeviceData' },
      { topic: 'devices/{device}/status', type: 'DeviceStatus' },
    ]);
    assert.deepEqual(config.store, {
      durability: 'fsync', retention: 7 * 86_400_000, maxBytes: 1_000_000_000, minFree: { bytes: 256_000_000 }, dedupWindow: 86_400_000, reorderWindow: 2_000,
    });
    assert.deepEqual(config.schedules, { prune: '*/5 * * * *', heartbeat: '* * * * *' });
    assert.deepEqual(config.log, { level: 'info', format: 'auto' });
    assert.match(config.gatewayId, /^[^/#+\s]+$/);
  });

  test('--config FILE wins over ./edgebus.yaml and $EDGEBUS_CONFIG', (t) => {
    const { dir } = fileFor(t, 'edgebus.yaml', 'gatewayId: from-cwd\n');
    writeFileSync(join(dir, 'explicit.yaml'), 'gatewayId: from-flag\n');
    writeFileSync(join(dir, 'env.yaml'), 'gatewayId: from-env\n');
    const { config, file } = loadConfig({ file: 'explicit.yaml', cwd: dir, env: { EDGEBUS_CONFIG: 'env.yaml' } });
    assert.equal(file, join(dir, 'explicit.yaml'));
    assert.equal(config.gatewayId, 'from-flag');
  });

  test('./edgebus.yaml in cwd wins over $EDGEBUS_CONFIG', (t) => {
    const { dir } = fileFor(t, 'edgebus.yaml', 'gatewayId: from-cwd\n');
    writeFileSync(join(dir, 'env.yaml'), 'gatewayId: from-env\n');
    const { config, file } = loadConfig({ cwd: dir, env: { EDGEBUS_CONFIG: 'env.yaml' } });
    assert.equal(file, join(dir, 'edgebus.yaml'));
    assert.equal(config.gatewayId, 'from-cwd');
  });

  test('$EDGEBUS_CONFIG is used when cwd has no edgebus.yaml', (t) => {
    const { dir } = fileFor(t, 'env.yaml', 'gatewayId: from-env\n');
    const { config, file } = loadConfig({ cwd: dir, env: { EDGEBUS_CONFIG: join(dir, 'env.yaml') } });
    assert.equal(file, join(dir, 'env.yaml'));
    assert.equal(config.gatewayId, 'from-env');
  });

  test('a missing --config file is an error naming the file', (t) => {
    const dir = tempDirFor(t);
    assert.throws(() => loadConfig({ file: 'nope.yaml', cwd: dir, env: {} }),
      (err: Error) => err instanceof SchemaError && err.message.startsWith(`${join(dir, 'nope.yaml')}: cannot read config`));
  });
});

describe('durations and sizes', () => {
  test('units parse to milliseconds and bytes; bare numbers pass through', () => {
    assert.deepEqual(['500ms', '30s', '5m', '2h', '7d'].map(parseDuration), [500, 30_000, 300_000, 7_200_000, 604_800_000]);
    assert.deepEqual(['64kB', '512MB', '2GB'].map(parseSize), [64_000, 512_000_000, 2_000_000_000]);
    assert.equal(parseDuration(250), 250);
    assert.equal(parseSize(1024), 1024);
    assert.throws(() => parseDuration('5 minutes'), RangeError);
    assert.throws(() => parseSize('64 kilobytes'), RangeError);
  });

  test('store.minFree: a size, a percentage of the file system, or 0 (off)', () => {
    const cases: [string, FreeSpace][] = [['64MB', { bytes: 64_000_000 }], ['5%', { percent: 5 }], ['0.5 %', { percent: 0.5 }], ['0', { bytes: 0 }], ['"0"', { bytes: 0 }], ['1048576', { bytes: 1_048_576 }]];
    for (const [text, want] of cases) {
      const { dir, file, cleanup } = withFile('edgebus.yaml', `store: { minFree: ${text} }\n`);
      try {
        assert.deepEqual(loadConfig({ file, cwd: dir, env: {} }).config.store.minFree, want, text);
      } finally {
        cleanup();
      }
    }
    const empty = tempDir('edgebus-config-');
    try {
      assert.deepEqual(loadConfig({ env: { EDGEBUS_STORE_MIN_FREE: '10%' }, cwd: empty.dir }).config.store.minFree, { percent: 10 });
    } finally {
      empty.cleanup();
    }
    assert.equal(freeSpaceBytes({ percent: 5 }, 32_000_000_000), 1_600_000_000);
    assert.equal(freeSpaceBytes({ bytes: 64_000_000 }, 32_000_000_000), 64_000_000);
  });

  test('config durations and sizes are resolved to numbers', (t) => {
    const { dir, file } = fileFor(t, 'edgebus.yaml', [
      'broker: { maxPayload: 64kB }',
      'store: { reorderWindow: 500ms, retention: 7d, dedupWindow: 2h, maxBytes: 2GB }',
      'upstream:',
      '  url: mqtts://cloud.example.com:8883',
      '  keepalive: 30s',
      '  batch: { maxBytes: 512MB }',
      '  retry: { maxDelay: 5m }',
      '',
    ].join('\n'));
    const { config } = loadConfig({ file, cwd: dir, env: {} });
    assert.equal(config.broker.maxPayload, 64_000);
    assert.deepEqual(config.store, {
      durability: 'fsync', reorderWindow: 500, retention: 604_800_000, dedupWindow: 7_200_000, maxBytes: 2_000_000_000, minFree: { bytes: 256_000_000 },
    });
    assert.equal(config.upstream?.keepalive, 30_000);
    assert.equal(config.upstream?.batch.maxBytes, 512_000_000);
    assert.equal(config.upstream?.retry.maxDelay, 300_000);
  });
});

describe('EDGEBUS_* environment overrides', () => {
  test('numbers, durations and file values are overridden', (t) => {
    const { dir, file } = fileFor(t, 'edgebus.yaml', 'broker: { port: 1884 }\nstore: { reorderWindow: 1s }\n');
    const { config } = loadConfig({ file, cwd: dir, env: { EDGEBUS_BROKER_PORT: '1999', EDGEBUS_STORE_REORDER_WINDOW: '5s' } });
    assert.equal(config.broker.port, 1999);
    assert.equal(config.store.reorderWindow, 5_000);
  });

  test('EDGEBUS_UPSTREAM_URL creates the upstream section with its defaults', (t) => {
    const dir = tempDirFor(t);
    const { config } = loadConfig({ cwd: dir, env: { EDGEBUS_UPSTREAM_URL: 'mqtt://cloud:1883', EDGEBUS_GATEWAY_ID: 'gw-9' } });
    assert.deepEqual(config.upstream, {
      url: 'mqtt://cloud:1883', clientId: 'gw-9', username: undefined, password: undefined,
      ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: true, keepalive: 30_000,
      topic: 'edgebus/gw-9/events', commandTopic: 'edgebus/gw-9/commands/#', format: 'cbor',
      batch: { maxEvents: 500, maxBytes: 256_000, linger: 200 }, inflight: 4,
      retry: { initialDelay: 1_000, maxDelay: 300_000, multiplier: 2, jitter: true, maxAttempts: 10 },
      eventVersion: 'as-stored', desiredGrace: 5_000,
    });
  });

  test('a string key keeps the text as typed', (t) => {
    const dir = tempDirFor(t);
    const { config } = loadConfig({ cwd: dir, env: { EDGEBUS_GATEWAY_ID: '007', EDGEBUS_HTTP_HOST: '127.0.0.2' } });
    assert.equal(config.gatewayId, '007');
    assert.equal(config.http.host, '127.0.0.2');
  });

  test('a bad env value names the variable and the key', () => {
    const { lines } = errorsFor('gatewayId: gw\n', { EDGEBUS_HTTP_PORT: 'abc' });
    assert.deepEqual(lines, ['env EDGEBUS_HTTP_PORT: http.port: expected integer, got "abc"']);
  });
});

describe('config errors: file:line: key: message', () => {
  test('the gateway id "fleet" is refused: it names the fleet-wide desired-state topic', () => {
    const { lines, file } = errorsFor('log: { level: info }\ngatewayId: fleet\n');
    assert.deepEqual(lines, [`${file}:2: gatewayId: "fleet" is reserved (edgebus/fleet/config/desired is the fleet-wide desired-state topic); choose another id`]);
  });

  test('unknown keys, top-level and nested, point at the key', () => {
    const { lines, file } = errorsFor('foo: 1\nbroker:\n  prot: 1\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], new RegExp(`^${esc(file)}:1: foo: unknown key \\(expected one of: gatewayId, dataDir, .*broker.*\\)$`));
    assert.match(lines[1], new RegExp(`^${esc(file)}:3: broker\\.prot: unknown key \\(expected one of: host, port, .*maxPayload.*\\)$`));
  });

  test('wrong type names value and expected type', () => {
    const { lines, file } = errorsFor('gatewayId: gw\nbroker:\n  port: abc\n');
    assert.deepEqual(lines, [`${file}:3: broker.port: expected integer, got "abc"`]);
    const whole = errorsFor('broker: 5\n');
    assert.deepEqual(whole.lines, [`${whole.file}:1: broker: expected object, got 5`]);
  });

  test('bad enum lists the choices', () => {
    const { lines, file } = errorsFor('store:\n  durability: fast\n');
    assert.deepEqual(lines, [`${file}:2: store.durability: expected one of fsync, write, got "fast"`]);
  });

  test('bad duration and bad size', () => {
    const { lines, file } = errorsFor('store:\n  reorderWindow: 2 seconds\n  maxBytes: lots\n');
    assert.deepEqual(lines.sort(), [
      `${file}:2: store.reorderWindow: expected a duration such as 500ms, 30s, 5m, 2h or 7d, got "2 seconds"`,
      `${file}:3: store.maxBytes: expected a size such as 64kB, 512MB or 2GB, got "lots"`,
    ]);
  });

  test('a bad store.minFree says what is expected', () => {
    const hint = 'expected a size such as 256MB, a percentage of the file system below 100% such as 5%, or 0 (off)';
    for (const [text, got] of [['lots', '"lots"'], ['100%', '"100%"'], ['-5%', '"-5%"']]) {
      const { lines, file } = errorsFor(`store:\n  minFree: ${text}\n`);
      assert.deepEqual(lines, [`${file}:2: store.minFree: ${hint}, got ${got}`]);
    }
    const negative = errorsFor('store:\n  minFree: -1\n');
    assert.deepEqual(negative.lines, [`${negative.file}:2: store.minFree: expected a number >= 0, got -1`]);
  });

  test('bad cron expression in schedules', () => {
    const { lines, file } = errorsFor('schedules:\n  heartbeat: "* * *"\n  prune: every 5 minutes\n');
    assert.deepEqual(lines.sort(), [
      `${file}:2: schedules.heartbeat: expected a cron expression such as "*/5 * * * *", got "* * *"`,
      `${file}:3: schedules.prune: expected a cron expression such as "*/5 * * * *", got "every 5 minutes"`,
    ]);
  });

  test('bad upstream url', () => {
    const { lines, file } = errorsFor('upstream:\n  url: http://cloud.example.com\n');
    assert.deepEqual(lines, [`${file}:2: upstream.url: expected broker URL, got "http://cloud.example.com"`]);
  });

  test('several errors are reported at once, each on its own line', () => {
    const { lines, file } = errorsFor([
      'gatewayId: "gw/1"',
      'broker:',
      '  port: 70000',
      'store:',
      '  durability: fast',
      'log:',
      '  level: loud',
      '',
    ].join('\n'));
    assert.deepEqual(lines.sort(), [
      `${file}:1: gatewayId: expected gateway id (no /, #, + or spaces), got "gw/1"`,
      `${file}:3: broker.port: expected a number <= 65535, got 70000`,
      `${file}:5: store.durability: expected one of fsync, write, got "fast"`,
      `${file}:7: log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"`,
    ]);
  });

  test('a YAML syntax error is reported with its line', () => {
    const { lines, file } = errorsFor('gatewayId: gw\nbroker:\n  port: [1883\nlog: {}\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^${esc(file)}:\\d+: `), `no line number in: ${lines[0]}`);
    const line = Number(lines[0].slice(file.length + 1).split(':')[0]);
    assert.ok(line >= 3 && line <= 4, `line ${line} should point at the unclosed flow sequence`);
  });

  test('a duplicate key is a YAML error with its line', () => {
    const { lines, file } = errorsFor('gatewayId: a\ngatewayId: b\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^${esc(file)}:2: .*unique`));
  });

  test('a non-loopback http.host without a token is refused', () => {
    const { lines, file } = errorsFor('gatewayId: gw\nhttp:\n  host: 0.0.0.0\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /http\.token: required when http\.host \(0\.0\.0\.0\) is not loopback$/);
    assert.ok(lines[0].startsWith(`${file}:3: `), `expected the line of http.host in: ${lines[0]}`);
  });

  test('a non-loopback http.host with a token is accepted', (t) => {
    const { dir, file } = fileFor(t, 'edgebus.yaml', 'http:\n  host: 0.0.0.0\n  token: s3cret\n');
    const { config } = loadConfig({ file, cwd: dir, env: {} });
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 9100, token: 's3cret' });
  });
});

describe('broker users and secrets', () => {
  const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=';

  test('each user\'s mistakes name the line and key: duplicate, no or two secrets, a password for a hash, bad filters', () => {
    const { lines, file } = errorsFor([
      'broker:',
      '  users:',
      `    - { username: a, passwordHash: "${HASH}", publish: ["sensors/{username}/#"] }`,
      `    - { username: a, passwordHash: "${HASH}" }`,
      '    - { username: b }',
      `    - { username: c, passwordHash: "${HASH}", passwordFile: ./c.hash }`,
      '    - { username: d, passwordHash: hunter2 }',
      `    - { username: e, passwordHash: "${HASH}", subscribe: ["a/#/b"] }`,
      '',
    ].join('\n'));
    const text = lines.join('\n');
    assert.match(text, new RegExp(`${esc(file)}:4: broker\\.users\\.1\\.username: duplicate username "a"`));
    assert.match(text, new RegExp(`${esc(file)}:5: broker\\.users\\.2: expected passwordHash or passwordFile`));
    assert.match(text, /broker\.users\.3\.passwordFile: give passwordHash or passwordFile, not both/);
    assert.match(text, /broker\.users\.4\.passwordHash: expected a scrypt hash made by `edgebus passwd`/);
    assert.match(text, /broker\.users\.5\.subscribe\.0: # must be the last level, got "a\/#\/b"/);
    assert.ok(!text.includes('hunter2'), 'a password put where a hash belongs is not echoed back');
  });

  test('a hash from a file; secret files readable by everyone are warned about; limits have defaults', (t) => {
    const { dir, file } = fileFor(t, 'edgebus.yaml', 'broker:\n  users:\n    - { username: a, passwordFile: ./a.hash }\nhttp:\n  tokenFile: ./token\n');
    chmodSync(file, 0o600);
    writeFileSync(join(dir, 'a.hash'), HASH + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'token'), 'tok\n', { mode: 0o644 });
    const { config, warnings } = loadConfig({ file, cwd: dir, env: {} });
    assert.equal(config.broker.users[0].passwordHash, HASH);
    assert.equal(config.http.token, 'tok');
    assert.deepEqual(config.broker.limits, { connections: 1000, publishRate: 5000, topicLevels: 16 });
    assert.deepEqual(warnings, [`${join(dir, 'token')} is readable by other users and holds a secret; chmod 640 it`]);
  });
});

describe('parseSince', () => {
  const now = Date.parse('2026-11-26T12:00:00.000Z');

  test('a duration is relative to the injected now', () => {
    assert.equal(parseSince('10m', now), now - 600_000);
    assert.equal(parseSince('2h', now), now - 7_200_000);
  });

  test('an ISO time is absolute', () => {
    assert.equal(parseSince('2026-11-25T08:30:00Z', now), Date.parse('2026-11-25T08:30:00Z'));
  });

  test('anything else is a RangeError naming the value', () => {
    assert.throws(() => parseSince('yesterday', now), (err: Error) => err instanceof RangeError && err.message.includes('"yesterday"'));
  });
});
