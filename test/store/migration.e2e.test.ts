// A store written by the release before schema 3 (test/fixtures/store-v2, made by
// scripts/fixtures/make-store-fixture.ts with that release) opened by this one: the daemon
// migrates it at start, every event it held is still there, the device state built from
// its log matches what the fixture's manifest says, and new events append after the old.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { JsonValue } from '../../src/events/types.js';
import { readDeviceStates } from '../../src/store/device-state.js';
import { EventStore, STORE_SCHEMA_VERSION, storeDir } from '../../src/store/event-store.js';
import type { DeviceView } from '../../src/usecases/device-views.js';
import { getEvents, parseNdjson } from '../helpers/api.js';
import { runCli, startDaemon, writeConfig } from '../helpers/daemon.js';
import { connect, endAll, publish } from '../helpers/mqtt.js';
import { ROOT } from '../helpers/paths.js';
import { tempDirFor } from '../helpers/tmp.js';

interface Manifest {
  schemaVersion: number;
  eventCount: number;
  lastSeq: number;
  ids: string[];
  types: string[];
  devices: Record<string, {
    sensors: Record<string, { value: JsonValue; unit: string | null; timestamp: string; seq: number }>;
    status: { state: string | null; payload: JsonValue; timestamp: string; seq: number } | null;
    location: { lat: number; lon: number; alt?: number | null } | null;
    lastSeq: number;
  }>;
}

const FIXTURE = join(ROOT, 'test', 'fixtures', 'store-v2');
const manifest = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'store-v2.json'), 'utf8')) as Manifest;

/** The fixture in a fresh data dir: the checked-in copy is never opened (opening migrates it). */
function copyFixture(dir: string): string {
  const dataDir = join(dir, 'data');
  cpSync(FIXTURE, storeDir(dataDir), { recursive: true });
  return dataDir;
}

/** What the manifest can say of a device, out of the projection's answer. */
function comparable(d: DeviceView): Manifest['devices'][string] {
  return {
    sensors: Object.fromEntries(Object.entries(d.sensors).map(([k, s]) => [k, { value: s.value, unit: s.unit, timestamp: s.timestamp, seq: s.seq }])),
    status: d.status,
    location: d.location && { lat: d.location.lat, lon: d.location.lon, alt: d.location.alt },
    lastSeq: d.lastSeq,
  };
}

describe('store migration 2 -> 3', () => {
  it('the fixture is a schema 2 store, older than this release', () => {
    assert.equal(manifest.schemaVersion, 2);
    assert.ok(STORE_SCHEMA_VERSION > manifest.schemaVersion);
    assert.ok(manifest.eventCount > 20 && Object.keys(manifest.devices).length === 3);
  });

  it('the daemon migrates it at start: events kept, device state from the log, new events after the old', async (t) => {
    const dir = tempDirFor(t);
    copyFixture(dir);
    const d = await startDaemon(dir);
    let stopped = false;
    t.after(() => (stopped ? undefined : d.stop()));

    const events = await getEvents(d.httpUrl, { limit: 10_000 });
    assert.deepEqual(events.slice(0, manifest.eventCount).map((e) => e.id), manifest.ids, 'every event of the old store, in its order');
    assert.deepEqual(events.slice(0, manifest.eventCount).map((e) => e.type), manifest.types);

    const cli = await runCli(['devices', '--json', '--config', join(dir, 'edgebus.yaml')]);
    assert.equal(cli.code, 0, cli.stderr);
    const devices = parseNdjson<DeviceView>(cli.stdout);
    assert.deepEqual(Object.fromEntries(devices.map((x) => [x.id, comparable(x)])), manifest.devices);
    const gh = devices.find((x) => x.id === 'greenhouse-1')!;
    assert.deepEqual(gh.metadata, { model: 'TH-20', firmware: '1.4.2', capabilities: ['temperature', 'humidity'] }, 'from its JSON status');

    // The streams: versions filled for the old events as they are read, and the gap and
    // reset counters counted from the old log's notices by the migration.
    const counter = events.filter((e) => e.source === 'counter-7');
    assert.deepEqual(counter.map((e) => e.version), counter.map((_, i) => i + 1));
    const notices = events.slice(0, manifest.eventCount).filter((e) => e.type === 'SystemEvent').map((e) => e.payload.kind);
    assert.deepEqual(notices, ['sequence-gap', 'sequence-reset'], 'what the fixture holds');
    const streams = parseNdjson<{ source: string; epoch: number; gaps: number; resets: number }>(await (await fetch(`${d.httpUrl}/api/streams`)).text());
    const row = streams.find((s) => s.source === 'counter-7');
    assert.deepEqual(row && { epoch: row.epoch, gaps: row.gaps, resets: row.resets }, { epoch: 1, gaps: 1, resets: 1 });

    const c = await connect(d.brokerUrl);
    t.after(() => endAll([c]));
    await publish(c, 'sensors/greenhouse-1/temperature', { value: 25, unit: 'C' });
    await publish(c, 'sensors/new-1/level', '3');
    const after = await getEvents(d.httpUrl, { fromSeq: manifest.lastSeq + 1, type: 'DeviceData' });
    assert.deepEqual(after.map((e) => e.source), ['greenhouse-1', 'new-1']);
    assert.ok(after.every((e) => e.seq > manifest.lastSeq));
    const now = (await (await fetch(`${d.httpUrl}/api/devices/greenhouse-1`)).json()) as DeviceView;
    assert.equal(now.sensors.temperature.value, 25);
    assert.equal(now.sensors.temperature.seq, after[0].seq);
    assert.equal(now.sensors.humidity.seq, manifest.devices['greenhouse-1'].sensors.humidity.seq, 'what the old log said stays');

    await d.stop();
    stopped = true;
    const store = await EventStore.open(storeDir(join(dir, 'data')));
    try {
      assert.equal(await store.meta.get('schemaVersion'), String(STORE_SCHEMA_VERSION));
    } finally {
      await store.close();
    }
  });

  it('the step can run again over its own result (what a crash before its one write leaves to the next start)', async (t) => {
    const dir = tempDirFor(t);
    const dataDir = copyFixture(dir);
    let store = await EventStore.open(storeDir(dataDir));
    const once = await readDeviceStates(store);
    assert.deepEqual(once.map((d) => d.id).sort(), Object.keys(manifest.devices).sort());
    await store.meta.put('schemaVersion', '2');
    await store.devices.put('stale', JSON.stringify({ id: 'stale' }));
    await store.close();
    store = await EventStore.open(storeDir(dataDir));
    try {
      assert.equal(await store.meta.get('schemaVersion'), String(STORE_SCHEMA_VERSION));
      assert.deepEqual(await readDeviceStates(store), once, 'the same projection, nothing left of what was there');
    } finally {
      await store.close();
    }
  });

  it('a store from a newer release is still refused', async (t) => {
    const dir = tempDirFor(t);
    const dataDir = copyFixture(dir);
    const store = await EventStore.open(storeDir(dataDir));
    await store.meta.put('schemaVersion', String(STORE_SCHEMA_VERSION + 1));
    await store.close();
    const r = await runCli(['events', '--config', writeConfig(dir)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`store schema version ${STORE_SCHEMA_VERSION + 1} is newer than this edgebus supports`));
  });
});
