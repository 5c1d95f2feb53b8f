// The schema registry and its upcasts (README "Schemas"): loading, the ingest check through
// normalize, and events read in their latest version. Real files in a temp dir.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { FrameEventMaker } from '../../src/devices/frame-events.js';
import type { DeviceProfile } from '../../src/devices/types.js';
import { encodeValue as encodeEvent } from '../../src/events/codec.js';
import { defaultMetadata, eventOf, type EdgeEvent } from '../../src/events/types.js';
import { normalize, type Normalized } from '../../src/ingest/normalize.js';
import { loadSchemasDir } from '../../src/schemas/loader.js';
import type { SchemaRegistry } from '../../src/schemas/registry.js';
import { route } from '../helpers/drafts.js';
import { writeSchemas } from '../helpers/schemas.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);

function registryFor(t: TestContext, extra: Record<string, string> = {}): SchemaRegistry {
  const { registry, issues } = loadSchemasDir(writeSchemas(tempDirFor(t), extra));
  assert.deepEqual(issues, []);
  return registry;
}

function ingest(registry: SchemaRegistry, topic: string, payload: object | string): Normalized {
  return normalize(route(topic), Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), T0, { schemas: registry });
}

function stored(n: Normalized, seq = 1): EdgeEvent {
  if (!n.ok) throw new Error(`rejected: ${n.rejection.detail}`);
  return eventOf({ ...n.draft, seq, id: `e-${seq}`, version: seq });
}

describe('schema registry: the ingest check', () => {
  it('takes the declared version, or the latest when none is declared', (t) => {
    const r = registryFor(t);
    assert.equal(r.size, 1);
    assert.equal(stored(ingest(r, 'sensors/gh-1/temperature', { temp: 21.5, version: 1 })).metadata.version, '1');
    assert.equal(stored(ingest(r, 'sensors/gh-1/temperature', { value: 21.5, unit: 'C', version: '2' })).metadata.version, '2');
    const v3 = stored(ingest(r, 'sensors/gh-1/temperature', { value: 70.7, unit: 'F', site: 'a' }));
    assert.equal(v3.metadata.version, '3');
    assert.deepEqual(v3.payload, { value: 70.7, unit: 'F', site: 'a' }, 'version is an envelope key: it leaves the payload');
  });

  it('rejects a payload that fails its version with the schema path at fault', (t) => {
    const r = registryFor(t);
    const n = ingest(r, 'sensors/gh-1/temperature', { temp: 'warm', version: 1 });
    assert.equal(n.ok, false);
    if (n.ok) return;
    assert.equal(n.rejection.reason, 'schema-violation');
    assert.deepEqual(n.rejection.schema, {
      file: 'temperature.yaml', version: '1', instancePath: '/temp', schemaPath: '#/properties/temp/type', message: 'must be number',
    });
    assert.match(n.rejection.detail, /temperature\.yaml version 1: \/temp must be number/);
  });

  it('rejects an undeclared-version payload that only fits an older version', (t) => {
    const n = ingest(registryFor(t), 'sensors/gh-1/temperature', { temp: 21.5 });
    assert.equal(n.ok, false);
    if (!n.ok) assert.equal(n.rejection.schema?.version, '3');
  });

  it('rejects a version the schema does not list; a version that is not a positive integer is the device\'s data', (t) => {
    const r = registryFor(t);
    const unknown = ingest(r, 'sensors/gh-1/temperature', { temp: 1, version: 7 });
    assert.ok(!unknown.ok && unknown.rejection.reason === 'schema-violation' && /version 7 is not one of 1, 2, 3/.test(unknown.rejection.detail));
    const firmware = stored(ingest(r, 'devices/gh-1/status', { state: 'online', version: '1.4.2' }));
    assert.deepEqual([firmware.metadata.version, firmware.payload.version], ['1', '1.4.2']);
    const data = stored(ingest(r, 'sensors/gh-1/humidity', { value: 55, version: 'v2' }));
    assert.deepEqual([data.metadata.version, data.payload], ['1', { value: 55, version: 'v2' }]);
  });

  it('leaves a type or sensor without a schema alone, and keeps its declared version', (t) => {
    const r = registryFor(t);
    assert.equal(stored(ingest(r, 'sensors/gh-1/humidity', '55')).metadata.version, '1');
    assert.equal(stored(ingest(r, 'sensors/gh-1/humidity', { value: 55, version: 4 })).metadata.version, '4');
    assert.equal(stored(ingest(r, 'devices/gh-1/status', 'online')).metadata.version, '1');
  });
});

describe('schema registry: serial readings', () => {
  it('are checked against the latest version as MQTT readings are, a frame kept or refused whole', (t) => {
    const r = registryFor(t);
    const maker = new FrameEventMaker({ id: 'probe-1', publish: 'sensors/{device}/{sensor}' } as DeviceProfile, r);
    const ok = maker.readings({ readings: [{ sensor: 'humidity', value: 40, unit: '%' }] }, T0);
    assert.ok(ok.ok);
    const bad = maker.readings({ readings: [{ sensor: 'humidity', value: 40, unit: '%' }, { sensor: 'temperature', value: 21.5, unit: 'C' }] }, T0);
    assert.equal(bad.ok, false);
    if (bad.ok) return;
    assert.equal(bad.rejection.reason, 'schema-violation');
    assert.equal(bad.rejection.schema?.version, '3');
    assert.match(bad.rejection.detail, /^temperature: temperature\.yaml version 3: /);
  });
});

describe('schema registry: reads in the latest version', () => {
  it('upcasts v1 and v2 to v3 and leaves the stored event as it was', (t) => {
    const r = registryFor(t);
    const v1 = stored(ingest(r, 'sensors/gh-1/temperature', { temp: 21.5, version: 1 }));
    const before = structuredClone(v1);
    const up = r.latest(v1);
    assert.deepEqual(up.payload, { value: 70.7, unit: 'F', site: 'gh-1' });
    assert.equal(up.metadata.version, '3');
    assert.equal(up.sensor?.value, 70.7, 'the reading follows the payload');
    assert.equal(up.sensor?.unit, 'F');
    assert.equal(up.seq, v1.seq);
    assert.equal(up.id, v1.id);
    assert.deepEqual(v1, before, 'the event read from the store is not changed');

    const v2 = stored(ingest(r, 'sensors/gh-2/temperature', { value: 50, unit: 'F', state: 'OFF', version: 2 }));
    assert.deepEqual(r.latest(v2).payload, { value: 50, unit: 'F', state: 'off', site: 'gh-2' }, 'a Fahrenheit v2 is not converted (when: unit C)');
  });

  it('returns the same object for an event in the latest version or without a schema', (t) => {
    const r = registryFor(t);
    const v3 = stored(ingest(r, 'sensors/gh-1/temperature', { value: 70, unit: 'F', site: 's' }));
    assert.equal(r.latest(v3), v3);
    const other = stored(ingest(r, 'sensors/gh-1/humidity', '55'));
    assert.equal(r.latest(other), other);
  });

  it('renames nested fields, sets templated values when a condition holds, removes fields', (t) => {
    const r = registryFor(t, {
      'orders.yaml': [
        'type: BusinessEvent',
        'versions:',
        '  - { version: 1, schema: true }',
        '  - version: 2',
        '    schema: { type: object, required: [order] }',
        '    upcast:',
        '      - rename: { from: order.no, to: order.id }',
        '      - set: { field: channel, value: "{source}/{payload.shop}" }',
        '        when: { payload.shop: { exists: true } }',
        '      - remove: { field: legacy }',
        '',
      ].join('\n'),
    });
    const order = (seq: number, payload: EdgeEvent['payload']): EdgeEvent => ({
      id: `o-${seq}`, type: 'BusinessEvent', source: 'shop-1', timestamp: new Date(T0).toISOString(), seq, payload, metadata: defaultMetadata(),
    });
    assert.deepEqual(r.latest(order(1, { order: { no: 7, qty: 2 }, shop: 'north', legacy: true })).payload, { order: { qty: 2, id: 7 }, shop: 'north', channel: 'shop-1/north' });
    assert.deepEqual(r.latest(order(2, { order: { id: 8 } })).payload, { order: { id: 8 } }, 'no shop: the set step does not run; nothing to rename');
    assert.equal(r.latest(order(3, { order: {} })).metadata.version, '2');
  });

  it('tells from the stored bytes which events may need an upcast', (t) => {
    const r = registryFor(t);
    const temp = stored(ingest(r, 'sensors/gh-1/temperature', { temp: 1, version: 1 }));
    const hum = stored(ingest(r, 'sensors/gh-1/humidity', '55'));
    assert.equal(r.mayNeedUpcast(encodeEvent(temp)), true);
    assert.equal(r.mayNeedUpcast(encodeEvent(hum)), false);
  });
});

describe('schema files: mistakes with file:line', () => {
  const load = (t: TestContext, name: string, text: string) => {
    const dir = tempDirFor(t);
    writeFileSync(join(dir, name), text);
    return loadSchemasDir(dir);
  };

  it('a missing directory holds no schemas', () => {
    const { registry, issues } = loadSchemasDir('/nonexistent/edgebus-schemas');
    assert.equal(registry.size, 0);
    assert.deepEqual(issues, []);
  });

  it('an unknown JSON Schema keyword deep in a version names its line', (t) => {
    const { registry, issues } = load(t, 'bad.yaml', [
      'type: DeviceData', //            1
      'sensor: pressure', //            2
      'versions:', //                   3
      '  - version: 1', //              4
      '    schema:', //                 5
      '      type: object', //          6
      '      properties:', //           7
      '        value:', //              8
      '          maxium: 3', //         9
      '',
    ].join('\n'));
    assert.equal(registry.size, 0, 'a file with a mistake contributes nothing');
    assert.equal(issues.length, 1);
    assert.equal(issues[0].line, 9);
    assert.equal(issues[0].key, 'versions.0.schema.properties.value.maxium');
    assert.match(issues[0].message, /unknown keyword: "maxium"/);
  });

  it('a bad upcast step, a bad condition and versions out of order each name their line', (t) => {
    const { issues } = load(t, 'bad.yaml', [
      'type: DeviceData', //                                 1
      'versions:', //                                        2
      '  - version: 2', //                                   3
      '    schema: { type: object }', //                     4
      '  - version: 1', //                                   5
      '    schema: { type: object }', //                     6
      '    upcast:', //                                      7
      '      - rename: { from: a, to: b }', //               8
      '        remove: { field: c }', //                     9
      '      - set: { field: d, value: 1 }', //              10
      '        when: { value: { bigger: 3 } }', //           11
      '',
    ].join('\n'));
    const at = issues.map((i) => [i.line, i.key]);
    assert.deepEqual(at, [[5, 'versions.1.version'], [8, 'versions.1.upcast.0'], [11, 'versions.1.upcast.1.when.value.bigger']]);
    assert.match(issues[0].message, /larger than the previous entry's 2, got 1/);
    assert.match(issues[1].message, /exactly one of rename, default, set, map, convert, remove.*rename and remove/);
    assert.match(issues[2].message, /unknown operator "bigger"/);
  });

  it('the file shape is checked as the config is', (t) => {
    const { issues } = load(t, 'bad.yaml', 'type: DeviceDta\nversions: []\n');
    assert.deepEqual(issues.map((i) => [i.line, i.key]), [[1, 'type'], [2, 'versions']]);
  });

  it('two files for the same type and sensor: the second is skipped with a line', (t) => {
    const dir = tempDirFor(t);
    const { issues } = loadSchemasDir(writeSchemas(dir, { 'z-again.yaml': 'type: DeviceData\nsensor: temperature\nversions:\n  - { version: 1, schema: true }\n' }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0].file, join(dir, 'schemas', 'z-again.yaml'));
    assert.match(issues[0].message, /already has a schema in .*temperature\.yaml/);
  });
});
