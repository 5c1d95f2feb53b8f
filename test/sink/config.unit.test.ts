// The `sink:` section (README "Fleets" › "The sink"): its defaults, secrets from the environment, and
// errors that name file:line and the key, as every config error does.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { SchemaError } from '../../src/config/validate.js';
import { memberClientIds } from '../../src/sink/mqtt-options.js';
import { runCli } from '../helpers/daemon.js';
import { tempDirFor } from '../helpers/tmp.js';

function configFile(t: TestContext, text: string): string {
  const file = join(tempDirFor(t, 'edgebus-sink-config-'), 'edgebus.yaml');
  writeFileSync(file, text);
  return file;
}

describe('sink configuration', () => {
  it('fills the defaults: the shared group, the default upstream topic, the table', (t) => {
    const file = configFile(t, 'gatewayId: cloud-1\nsink:\n  url: mqtt://broker:1883\n  postgres: { url: "postgresql://edgebus@db/fleet" }\n');
    const { config } = loadConfig({ file, env: { EDGEBUS_SINK_POSTGRES_PASSWORD: 'from-env' } });
    const s = config.sink!;
    assert.deepEqual(
      { clientId: s.clientId, group: s.group, topic: s.topic, table: s.table, sessionExpiry: s.sessionExpiry, http: s.http, inflight: s.inflight, connections: s.connections },
      { clientId: 'edgebus-sink-cloud-1', group: 'edgebus', topic: 'edgebus/+/events', table: 'edgebus_events', sessionExpiry: 86_400_000, http: { host: '127.0.0.1', port: 9110 }, inflight: 16, connections: 4 },
    );
    assert.deepEqual(s.postgres, { connectionString: 'postgresql://edgebus@db/fleet', host: undefined, port: undefined, database: undefined, user: undefined, password: 'from-env' });
    assert.equal(s.retry.initialDelay, 500);
  });

  it('names file:line and the key of a bad value', (t) => {
    const file = configFile(t, 'sink:\n  url: mqtt://broker:1883\n  table: "events; DROP TABLE x"\n');
    assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => err instanceof SchemaError && err.message.includes(`${file}:3: sink.table`) && err.message.includes('expected a table name of lower-case letters, digits and _'));
  });

  it('gives each connection a client id of its own, the first the clientId itself', (t) => {
    const file = configFile(t, 'sink:\n  url: mqtt://broker:1883\n  clientId: sink-1\n  connections: 3\n');
    assert.deepEqual(memberClientIds(loadConfig({ file, env: {} }).config.sink!), ['sink-1', 'sink-1-c2', 'sink-1-c3']);
    const one = configFile(t, 'sink:\n  url: mqtt://broker:1883\n  clientId: sink-1\n  connections: 1\n');
    assert.deepEqual(memberClientIds(loadConfig({ file: one, env: {} }).config.sink!), ['sink-1']);
  });

  for (const [value, expected] of [['0', 'expected a number >= 1, got 0'], ['65', 'expected a number <= 64, got 65'], ['two', 'expected integer, got "two"'], ['1.5', 'expected integer, got 1.5']] as const) {
    it(`names file:line and the key of connections: ${value}`, (t) => {
      const file = configFile(t, `sink:\n  url: mqtt://broker:1883\n  connections: ${value}\n`);
      assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => {
        assert.ok(err instanceof SchemaError);
        assert.match(err.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: sink\\.connections`));
        assert.ok(err.message.includes(expected), err.message);
        return true;
      });
    });
  }

  it('edgebus sink without a sink section says so', async (t) => {
    const file = configFile(t, 'gatewayId: gw\n');
    const r = await runCli(['sink', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no sink section \(sink\.url at least\)/);
  });
});
