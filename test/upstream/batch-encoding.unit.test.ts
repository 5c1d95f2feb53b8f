// The CBOR batch of SPEC §4 is assembled from the stored bytes without re-encoding them:
// whatever wrote an event (the store's writer, or cbor-x for older and odd ones), the batch
// must decode to `{gatewayId, batch, events}` with each event whole plus its corrected
// timestamp, and building it must leave the stored bytes as they were.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CborWriter } from '../../src/events/cbor-writer.js';
import { decodeValue, encodeValue } from '../../src/events/codec.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { encodeBatch } from '../../src/upstream/batch-encoding.js';
import { StoredItem, type EventHead } from '../../src/upstream/event-head.js';

function reading(seq: number, extra: Partial<EdgeEvent['metadata']> = {}): EdgeEvent {
  const timestamp = new Date(1_700_000_000_000 + seq).toISOString();
  return {
    id: `dev:0:${seq}`, type: 'DeviceData', source: 'dev', timestamp, seq,
    payload: { value: seq / 2, unit: 'C' },
    sensor: { type: 'temperature', value: seq / 2, unit: 'C', accuracy: null, timestamp },
    device: { id: 'dev' },
    metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null, ...extra },
  };
}

function stored(e: EdgeEvent): Uint8Array {
  const w = new CborWriter(512);
  w.event(e);
  return Uint8Array.from(w.since(0));
}

/** A corrected time that differs from the stored one, so the test sees which was written. */
const corrected = (h: EventHead): string => new Date(Date.parse(h.timestamp) + 1000).toISOString();

describe('a CBOR batch', () => {
  it('decodes to the envelope and every event whole, each with its corrected timestamp, whoever wrote it', () => {
    const events = [
      reading(1),
      reading(2, { ttl: 60, receivedAt: '2026-01-01T00:00:00.000Z' }),
      reading(3, { priority: 'critical', clock: 'stepped', correlationId: 'c', causationId: 'd' }),
    ];
    const bytes = [stored(events[0]), encodeValue(events[1]), stored(events[2])];
    const copies = bytes.map((b) => Uint8Array.from(b));
    const batch = encodeBatch('cbor', 'gw-1', 42, bytes.map((b) => StoredItem.of(b)), corrected);

    const decoded = decodeValue<{ gatewayId: string; batch: number; events: Record<string, unknown>[] }>(batch);
    assert.equal(decoded.gatewayId, 'gw-1');
    assert.equal(decoded.batch, 42);
    assert.deepEqual(decoded.events, events.map((e) => ({ ...decodeValue<EdgeEvent>(encodeValue(e)), correctedTimestamp: new Date(Date.parse(e.timestamp) + 1000).toISOString() })));
    // The stored bytes are copied, never written to: they may be a view into a read-ahead chunk.
    assert.deepEqual(bytes.map((b) => Buffer.from(b)), copies.map((b) => Buffer.from(b)));
  });
});

describe('stream versions in a batch', () => {
  const versioned = (seq: number, version: number): EdgeEvent => {
    const { payload, ...head } = reading(seq);
    // The writer's field order: version right after seq.
    return { ...head, version, payload } as EdgeEvent;
  };

  it('go upstream as stored, in CBOR and in JSON; an event stored before versions goes without one', () => {
    const events = [versioned(7, 3), versioned(8, 4), reading(9)];
    const items = events.map((e) => StoredItem.of(stored(e)));
    assert.deepEqual(decodeValue<EdgeEvent>(stored(events[0])).version, 3, 'the writer writes it');
    assert.deepEqual(Object.keys(decodeValue<EdgeEvent>(stored(events[0]))).slice(4, 7), ['seq', 'version', 'payload']);
    for (const format of ['cbor', 'json'] as const) {
      const bytes = encodeBatch(format, 'gw-1', 1, items, corrected);
      const batch = format === 'cbor' ? decodeValue<{ events: EdgeEvent[] }>(bytes) : JSON.parse(bytes.toString()) as { events: EdgeEvent[] };
      assert.deepEqual(batch.events.map((e) => e.version), [3, 4, undefined], format);
      assert.ok(!('version' in batch.events[2]), `${format}: no field made up for the older event`);
    }
  });
});
