// verifyBatch names every problem by its path and says what was expected; decodeBatch
// refuses what is not a map in either encoding. A consumer records these with the batch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeValue } from '../../src/events/codec.js';
import { BatchDecodeError, BatchInvalidError, decodeBatch, readBatch, verifyBatch, type Batch } from '../../src/batch/index.js';
import { ROOT } from '../helpers/paths.js';

const good = (): Batch => JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'batches', 'v1.expected.json'), 'utf8')) as Batch;
const paths = (b: unknown): string[] => verifyBatch(b).map((p) => p.path);

describe('verifyBatch', () => {
  it('refuses a version it does not know, and judges nothing else in it', () => {
    const b = { ...good(), version: 2, gatewayId: 7 };
    assert.deepEqual(verifyBatch(b), [{ path: 'version', message: 'expected one of 1, got number 2' }]);
  });

  it('names the envelope fields that are wrong', () => {
    assert.deepEqual(paths({ version: 1, gatewayId: '', batch: -1, events: {} }), ['gatewayId', 'batch', 'events']);
  });

  it('names each event field that is missing or mistyped', () => {
    const b = good();
    const e = b.events;
    delete (e[0] as Partial<typeof e[0]>).id;
    (e[1] as { type: string }).type = 'Telemetry';
    (e[2] as { timestamp: string }).timestamp = 'yesterday';
    (e[3].metadata as { priority: string }).priority = 'urgent';
    assert.deepEqual(paths(b), ['events[0].id', 'events[1].type', 'events[2].timestamp', 'events[3].metadata.priority']);
    assert.match(verifyBatch(b)[1].message, /expected one of DeviceData, .*, got string "Telemetry"/);
  });

  it('wants seqs strictly increasing within the batch', () => {
    const b = good();
    b.events[2].seq = b.events[1].seq;
    assert.deepEqual(verifyBatch(b), [{ path: 'events[2].seq', message: `seqs must increase within a batch: ${b.events[1].seq} after ${b.events[1].seq}` }]);
  });

  it('stops at 20 problems for a batch of garbage', () => {
    assert.equal(verifyBatch({ version: 1, gatewayId: 'g', batch: 1, events: Array.from({ length: 1000 }, () => 5) }).length, 20);
  });

  it('readBatch throws the problems', () => {
    assert.throws(() => readBatch(Buffer.from(JSON.stringify({ ...good(), gatewayId: null }))), (err: unknown) => err instanceof BatchInvalidError && err.problems[0].path === 'gatewayId');
  });
});

describe('decodeBatch', () => {
  it('refuses what is not a map in CBOR or JSON, saying why', () => {
    const cases: [Uint8Array | string, RegExp][] = [
      [Buffer.alloc(0), /empty payload/],
      [Buffer.from('hello'), /neither a CBOR nor a JSON map \(first byte 0x68\)/],
      [Buffer.from('{"gatewayId": '), /not JSON/],
      [Buffer.from([0xa3, 0x61]), /not CBOR/],
      [encodeValue([1, 2]), /neither a CBOR nor a JSON map/],
      [Buffer.from('[1]'), /a batch is a map, got an array/],
      ['null', /a batch is a map, got null/],
    ];
    for (const [payload, message] of cases) assert.throws(() => decodeBatch(payload), (err: unknown) => err instanceof BatchDecodeError && message.test(err.message), String(payload));
  });

  it('follows the content type over the first byte', () => {
    assert.throws(() => decodeBatch(Buffer.from('{}'), 'application/cbor'), BatchDecodeError);
  });
});
