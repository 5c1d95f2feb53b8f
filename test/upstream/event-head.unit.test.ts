// The drain reads only an event's head (seq, timestamp, ttl, receivedAt) from its stored
// CBOR: it must agree with a full decode on any event, and the corrected timestamp built
// from it must be the one Timeline gives for the whole event.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CborWriter } from '../../src/events/cbor-writer.js';
import { decodeEvent, encodeValue } from '../../src/events/codec.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { Timeline, type ClockSegment } from '../../src/time/timeline.js';
import { correctedTimestamp, peekHead, StoredItem } from '../../src/upstream/event-head.js';

const iso = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toISOString());

const event = fc.record({
  id: fc.string(),
  type: fc.constantFrom('DeviceData', 'Alert', 'SystemEvent'),
  source: fc.string(),
  timestamp: iso,
  seq: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER })),
  payload: fc.dictionary(fc.string(), fc.jsonValue()),
  sensor: fc.option(fc.record({ type: fc.string(), value: fc.double({ noNaN: true }), unit: fc.string(), accuracy: fc.constant(null), timestamp: iso }), { nil: undefined }),
  metadata: fc.record({
    correlationId: fc.option(fc.string(), { nil: null }),
    causationId: fc.option(fc.string(), { nil: null }),
    version: fc.constant('1'),
    priority: fc.constantFrom('low', 'normal', 'high', 'critical'),
    ttl: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 10 ** 7 }), fc.double({ min: 0.001, max: 1e6, noNaN: true })),
    clock: fc.option(fc.constantFrom('synced', 'unsynced', 'stepped'), { nil: undefined }),
    receivedAt: fc.option(iso, { nil: undefined }),
  }, { requiredKeys: ['correlationId', 'causationId', 'version', 'priority', 'ttl'] }),
}, { requiredKeys: ['id', 'type', 'source', 'timestamp', 'seq', 'payload', 'metadata'] });

describe('the head of a stored event', () => {
  it('is what a full decode of the same bytes says', () => {
    fc.assert(fc.property(event, (e) => {
      const bytes = encodeValue(e);
      const full = decodeEvent(bytes);
      assert.deepEqual(peekHead(bytes), { seq: full.seq, timestamp: full.timestamp, ttl: full.metadata.ttl ?? null, receivedAt: full.metadata.receivedAt });
    }), { numRuns: 500 });
  });

  it('is what a full decode says of the bytes the store writes, with the usual metadata or any other', () => {
    const usual = (e: EdgeEvent, priority: 'normal' | 'high'): EdgeEvent =>
      ({ ...e, metadata: { correlationId: null, causationId: null, version: '1', priority, ttl: null, ...(e.metadata.clock ? { clock: e.metadata.clock } : {}) } });
    fc.assert(fc.property(event, fc.constantFrom('as-is', 'normal', 'high'), (raw, kind) => {
      const e = kind === 'as-is' ? (raw as EdgeEvent) : usual(raw as EdgeEvent, kind);
      const w = new CborWriter(256);
      w.event(e);
      const bytes = Uint8Array.from(w.since(0));
      const full = decodeEvent(bytes);
      assert.deepEqual(peekHead(bytes), { seq: full.seq, timestamp: full.timestamp, ttl: full.metadata.ttl ?? null, receivedAt: full.metadata.receivedAt });
    }), { numRuns: 1000 });
  });

  it('is not guessed from bytes that are not a plain map of fields: the item decodes them whole', () => {
    const e = { id: 'x', type: 'DeviceData', source: 's', timestamp: '2026-01-01T00:00:00.000Z', seq: 7, payload: {}, metadata: { ttl: 5 } };
    assert.equal(peekHead(encodeValue([e])), null);
    // An indefinite-length map (0xbf … 0xff) is valid CBOR this reader leaves to the decoder.
    const bytes = Uint8Array.from([0xbf, ...encodeValue(e).subarray(3), 0xff]);
    assert.equal(peekHead(bytes), null);
    assert.deepEqual(StoredItem.of(bytes).head, { seq: 7, timestamp: e.timestamp, ttl: 5, receivedAt: undefined });
    assert.equal(StoredItem.of(bytes).event.id, 'x');
  });
});

describe('the corrected timestamp from the head', () => {
  const seg = (fromSeq: number, g: number, offset: number, cause: ClockSegment['cause']): ClockSegment =>
    ({ fromSeq, cause, boot: 'boot-1', uptime: g, g, offset, quality: 'synced' });
  // A step of one hour at seq 50: events before it are stamped an hour off.
  const timeline = new Timeline([seg(1, 0, 0, 'start'), seg(50, 10_000, 3_600_000, 'step')]);

  it('is the one Timeline gives for the whole event, stepped or not, stamped by the gateway or its publisher', () => {
    let corrected = 0;
    fc.assert(fc.property(event, fc.integer({ min: 1, max: 100 }), (e, seq) => {
      const whole = { ...e, seq } as EdgeEvent;
      const head = StoredItem.of(encodeValue(whole)).head;
      const expected = timeline.correctedTimestamp(whole);
      if (expected !== whole.timestamp) corrected++;
      assert.equal(correctedTimestamp((s) => timeline.correction(s), head), expected);
    }), { numRuns: 300 });
    assert.ok(corrected > 0, 'some events were corrected, so the comparison tells something');
  });
});
