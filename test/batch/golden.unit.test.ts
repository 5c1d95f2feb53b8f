// The promise of the batch format (README "Batch format"): every batch a gateway of any
// release has sent stays readable. The golden files were written by the encoders
// themselves (write-fixtures.ts for the current version; the release before `version`
// for unversioned.*) and must never be edited: a format change that breaks this test
// breaks consumers in the field.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BATCH_FORMAT_VERSION, KNOWN_BATCH_VERSIONS } from '../../src/batch/format.js';
import { decodeBatch, eachEvent, readBatch, verifyBatch, type Batch } from '../../src/batch/index.js';
import { ROOT } from '../helpers/paths.js';

const DIR = join(ROOT, 'test', 'fixtures', 'batches');
const read = (name: string): Buffer => readFileSync(join(DIR, name));
const expected = (version: number): Batch => JSON.parse(read(`v${version}.expected.json`).toString()) as Batch;

describe('golden batches', () => {
  it('exist for every version this decoder knows, the current one included', () => {
    const files = new Set(readdirSync(DIR));
    assert.ok(KNOWN_BATCH_VERSIONS.includes(BATCH_FORMAT_VERSION));
    for (const v of KNOWN_BATCH_VERSIONS) {
      for (const suffix of ['cbor', 'json', 'expected.json']) assert.ok(files.has(`v${v}.${suffix}`), `v${v}.${suffix}: run write-fixtures when adding a version`);
    }
  });

  for (const version of KNOWN_BATCH_VERSIONS) {
    for (const [encoding, contentType] of [['cbor', 'application/cbor'], ['json', 'application/json']] as const) {
      it(`v${version} ${encoding} decodes to its events, by content type and by sniffing, and verifies`, () => {
        const bytes = read(`v${version}.${encoding}`);
        for (const ct of [contentType, undefined]) {
          const batch = decodeBatch(bytes, ct);
          assert.deepEqual(verifyBatch(batch), []);
          assert.deepEqual(batch, expected(version));
        }
        assert.deepEqual([...eachEvent(readBatch(bytes))], expected(version).events);
      });
    }
  }

  it('the fixtures cover an alert and events with and without every optional field', () => {
    const events = expected(1).events;
    assert.ok(events.some((e) => e.type === 'Alert'));
    for (const field of ['sensor', 'device', 'location', 'network', 'version'] as const) {
      assert.ok(events.some((e) => field in e) && events.some((e) => !(field in e)), field);
    }
    assert.ok(events.some((e) => e.metadata.receivedAt !== undefined) && events.some((e) => e.metadata.clock === undefined));
  });

  for (const encoding of ['cbor', 'json']) {
    it(`an unversioned ${encoding} batch (gateways before the field) reads as version 1`, () => {
      const batch = readBatch(read(`unversioned.${encoding}`));
      assert.deepEqual(batch, expected(1));
    });
  }
});
