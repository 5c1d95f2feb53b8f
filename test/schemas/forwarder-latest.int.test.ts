// The forwarder with `eventVersion: latest` over a real LevelDB log and the real schema
// registry, a recording upstream port standing in for the link: events with an older
// schema version leave upcast, and only they are decoded and encoded again; as-stored
// sends every event as it was stored.
import assert from 'node:assert/strict';
import { decode } from 'cbor-x';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { UpstreamConfig } from '../../src/config/types.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { normalize } from '../../src/ingest/normalize.js';
import { loadSchemasDir } from '../../src/schemas/loader.js';
import type { SchemaRegistry } from '../../src/schemas/registry.js';
import { Forwarder, type PublishOutcome, type UpstreamPort } from '../../src/upstream/forwarder.js';
import type { LatestVersion } from '../../src/upstream/forwarder-ports.js';
import { route } from '../helpers/drafts.js';
import { memoryLogger } from '../helpers/logger.js';
import { writeSchemas } from '../helpers/schemas.js';
import { openRig, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const { log, lines: errors } = memoryLogger('error');

function upstreamConfig(dir: string, eventVersion: string): UpstreamConfig {
  const file = join(dir, 'edgebus.yaml');
  writeFileSync(file, stringify({ gatewayId: 'gw', upstream: { url: 'mqtt://127.0.0.1:1', eventVersion, batch: { maxEvents: 10, linger: '0ms' } } }));
  return loadConfig({ file, env: {} }).config.upstream!;
}

class RecordingPort implements UpstreamPort {
  connected = true;
  maxPacketSize: number | null = null;
  readonly sent: EdgeEvent[] = [];
  publish(_topic: string, payload: Buffer): Promise<PublishOutcome> {
    this.sent.push(...(decode(payload) as { events: EdgeEvent[] }).events);
    return Promise.resolve({ ok: true });
  }
}

describe('forwarder: eventVersion', () => {
  let tmp: ReturnType<typeof tempDir>;
  let rig: StoreRig;
  let registry: SchemaRegistry;
  const clock = { now: Date.now() };

  beforeEach(async () => {
    tmp = tempDir();
    rig = await openRig(join(tmp.dir, 'store'), clock);
    registry = loadSchemasDir(writeSchemas(tmp.dir)).registry;
    for (const [topic, body] of [
      ['sensors/gh-1/temperature', { temp: 30, version: 1 }],
      ['sensors/gh-1/humidity', { value: 40, unit: '%' }],
      ['sensors/gh-1/temperature', { value: 50, unit: 'F', site: 'roof' }],
    ] as const) {
      const n = normalize(route(topic), Buffer.from(JSON.stringify(body)), clock.now, { schemas: registry });
      assert.ok(n.ok);
      await rig.appender.append(n.draft);
    }
  });
  afterEach(async () => {
    await rig.close();
    tmp.cleanup();
    assert.deepEqual(errors.splice(0), [], 'the forwarder logged no error');
  });

  /** The registry as the daemon plugs it in, noting which events it was asked to upcast. */
  function latestPort(asked: number[]): LatestVersion {
    return {
      mayNeedUpcast: (bytes) => registry.mayNeedUpcast(bytes),
      event: (e) => {
        asked.push(e.seq);
        return registry.latest(e);
      },
    };
  }

  async function forward(eventVersion: string, asked: number[]): Promise<EdgeEvent[]> {
    const port = new RecordingPort();
    const f = new Forwarder({
      store: rig.store, bus: rig.bus, link: port, config: upstreamConfig(tmp.dir, eventVersion), gatewayId: 'gw',
      lastSeq: () => rig.appender.committedSeq, log, now: () => clock.now, latest: latestPort(asked),
    });
    await f.init();
    f.linkUp();
    await f.drained();
    await f.stop();
    return port.sent;
  }

  it('latest: the v1 reading leaves in v3, the others as stored; a sensor without older versions is never decoded for it', async () => {
    const asked: number[] = [];
    const sent = await forward('latest', asked);
    assert.deepEqual(sent.map((e) => [e.seq, e.metadata.version, e.payload]), [
      [1, '3', { value: 86, unit: 'F', site: 'gh-1' }],
      [2, '1', { value: 40, unit: '%' }],
      [3, '3', { value: 50, unit: 'F', site: 'roof' }],
    ]);
    assert.deepEqual(asked, [1, 3], 'only the temperature readings were decoded for an upcast');
    assert.ok(sent.every((e) => typeof (e as EdgeEvent & { correctedTimestamp?: string }).correctedTimestamp === 'string'), 'every event still carries its corrected timestamp');
  });

  it('as-stored (the default): every event as published, the registry never asked', async () => {
    const asked: number[] = [];
    const sent = await forward('as-stored', asked);
    assert.deepEqual(sent.map((e) => e.payload), [{ temp: 30 }, { value: 40, unit: '%' }, { value: 50, unit: 'F', site: 'roof' }]);
    assert.deepEqual(asked, []);
  });
});
