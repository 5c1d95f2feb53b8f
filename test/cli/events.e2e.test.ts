// `edgebus events` and `edgebus dlq list` (SPEC §1): while a child daemon runs (LevelDB
// is locked, so the CLI asks the daemon's HTTP API) and after it stopped (the CLI opens
// the store itself). Both modes must print the same thing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import type { RejectedRecord } from '../../src/store/rejected.js';
import { parseNdjson } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const TWO_HOURS_AGO = new Date(Date.now() - 2 * 3_600_000).toISOString();

/** The CLI runs compared between the two modes, by name. */
const RUNS: Record<string, string[]> = {
  all: ['events', '--json'],
  source: ['events', '--json', '--source', 'ev-a'],
  type: ['events', '--json', '--type', 'DeviceStatus'],
  fromSeq: ['events', '--json', '--from-seq', '3'],
  limit: ['events', '--json', '--limit', '2'],
  since: ['events', '--json', '--since', '10m'],
  table: ['events'],
  dlq: ['dlq', 'list', '--json'],
};

/** Runs every entry of RUNS (two at a time: each is a Node start-up). */
async function runAll(config: string, cwd: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = Object.keys(RUNS);
  const worker = async () => {
    for (let name = names.shift(); name !== undefined; name = names.shift()) {
      const r = await runCli([...RUNS[name], '--config', config], { cwd });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      out[name] = r.stdout;
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

describe('edgebus events / dlq list', () => {
  const tmp = tempDir();
  let config: string;
  let d: ChildDaemon | null = null;
  let client: MqttClient | null = null;
  let live: Record<string, string>;

  before(async () => {
    // The CLI reaches the running daemon through the port its config names.
    config = writeConfig(tmp.dir, { http: { port: await freePort() } });
    d = await spawnDaemon(config);
    client = await connect(d.brokerUrl, { clientId: 'events-e2e' });
    for (const seq of [1, 2, 3]) await publish(client, 'sensors/ev-a/temperature', { seq, value: 20 + seq, unit: 'C' });
    await publish(client, 'devices/ev-b/status', 'online');
    await publish(client, 'sensors/ev-b/humidity', '40');
    await publish(client, 'sensors/ev-old/temperature', { value: 5, ts: TWO_HOURS_AGO, priority: 'high' });
    await publish(client, 'sensors/ev-a/temperature', 'oops'); // rejected
  });
  after(async () => {
    await endAll([client ?? undefined]);
    await killDaemon(d);
    tmp.cleanup();
  });

  test('while the daemon runs: NDJSON in log order with every SPEC §3 field', async () => {
    live = await runAll(config, tmp.dir);
    const events = parseNdjson<EdgeEvent>(live.all);
    assert.deepEqual(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(events.map((e) => e.source), ['ev-a', 'ev-a', 'ev-a', 'ev-b', 'ev-b', 'ev-old']);
    for (const e of events) {
      for (const key of ['id', 'type', 'source', 'timestamp', 'seq', 'payload', 'metadata'] as const) assert.ok(key in e, `${key} in ${JSON.stringify(e)}`);
      assert.match(e.timestamp, ISO);
      // A publisher's own time two hours off the gateway's keeps the receive time beside it.
      const own = e.source === 'ev-old' ? ['receivedAt'] : [];
      assert.deepEqual(Object.keys(e.metadata).sort(), ['causationId', 'clock', 'correlationId', 'priority', ...own, 'ttl', 'version'].sort());
      if (e.type === 'DeviceData') {
        assert.deepEqual(Object.keys(e.sensor!).sort(), ['accuracy', 'timestamp', 'type', 'unit', 'value']);
        assert.deepEqual(e.device, { id: e.source });
      }
    }
    assert.deepEqual(events[0], {
      id: 'ev-a:0:1', type: 'DeviceData', source: 'ev-a', timestamp: events[0].timestamp, seq: 1, version: 1,
      payload: { value: 21, unit: 'C' },
      sensor: { type: 'temperature', value: 21, unit: 'C', accuracy: null, timestamp: events[0].timestamp },
      device: { id: 'ev-a' },
      metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null, clock: 'synced' },
    });
    assert.equal(events[5].timestamp, TWO_HOURS_AGO);
    assert.equal(events[5].metadata.priority, 'high');
  });

  test('while the daemon runs: the filters', () => {
    const seqs = (name: string) => parseNdjson<EdgeEvent>(live[name]).map((e) => e.seq);
    assert.deepEqual(parseNdjson<EdgeEvent>(live.source).map((e) => e.id), ['ev-a:0:1', 'ev-a:0:2', 'ev-a:0:3']);
    assert.deepEqual(parseNdjson<EdgeEvent>(live.type).map((e) => [e.type, e.source]), [['DeviceStatus', 'ev-b']]);
    assert.deepEqual(seqs('fromSeq'), [3, 4, 5, 6]);
    assert.deepEqual(seqs('limit'), [1, 2]);
    assert.deepEqual(seqs('since'), [1, 2, 3, 4, 5], 'the event stamped two hours ago is left out');
    const table = live.table.trimEnd().split('\n');
    assert.match(table[0], /SEQ\s+TIMESTAMP\s+TYPE\s+SOURCE\s+VERSION\s+ID\s+PAYLOAD/);
    assert.equal(table.length, 7);
    assert.match(table[1], /^\s+1\s+\S+\s+DeviceData\s+ev-a\s+1\s+ev-a:0:1/);
  });

  test('while the daemon runs: dlq list --json shows the rejected payload', () => {
    const records = parseNdjson<RejectedRecord>(live.dlq);
    assert.equal(records.length, 1);
    assert.equal(records[0].topic, 'sensors/ev-a/temperature');
    assert.equal(records[0].reason, 'invalid-value');
    assert.equal(Buffer.from(records[0].payload, 'base64').toString(), 'oops');
    assert.equal(records[0].clientId, 'events-e2e');
  });

  test('while the daemon runs: a bad filter exits 1', async () => {
    const r = await runCli(['events', '--json', '--type', 'Nope', '--config', config], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--type/);
    assert.equal(r.stdout, '');
  });

  test('after SIGTERM: the same output, read from the store directly', async () => {
    d!.child.kill('SIGTERM');
    assert.deepEqual(await d!.exited, { code: 0, signal: null });
    const offline = await runAll(config, tmp.dir);
    for (const name of Object.keys(RUNS)) assert.equal(offline[name], live[name], `${name} differs between the two modes`);
    const r = await runCli(['events', '--json', '--type', 'Nope', '--config', config], { cwd: tmp.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--type/);
  });
});
