// The type prefilter may skip an event undecoded only when it cannot be of the asked type:
// every event of a type, as either encoder writes it, holds that type's run; one of another
// type lacks it unless the run sits in its payload, and then it is decoded and matched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CborWriter } from '../../src/events/cbor-writer.js';
import { encodeValue } from '../../src/events/codec.js';
import { EVENT_TYPES, type EdgeEvent, type EventType } from '../../src/events/types.js';
import { mayBeOfType, typeNeedle } from '../../src/store/type-prefilter.js';

function event(type: EventType, payload: EdgeEvent['payload'] = { value: 1 }): EdgeEvent {
  return {
    // An id holding the bytes of the key "type" ('d' is the key's head byte), to fool a reader that looked only once.
    id: 'dtype-1', type, source: 'greenhouse-1', timestamp: '2026-12-03T07:00:00.000Z', seq: 7, payload,
    metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null, clock: 'synced' },
  };
}

function byWriter(e: EdgeEvent): Uint8Array {
  const w = new CborWriter(64);
  w.event(e);
  return Uint8Array.from(w.since(0));
}

const encoders = { 'cbor-x': encodeValue, 'the store writer': byWriter } as const;

describe('type prefilter', () => {
  for (const [name, encode] of Object.entries(encoders)) {
    it(`admits every event of the type asked, as ${name} writes it`, () => {
      for (const type of EVENT_TYPES) assert.ok(mayBeOfType(encode(event(type)), typeNeedle(type)), type);
    });

    it(`skips events of every other type, as ${name} writes them`, () => {
      for (const type of EVENT_TYPES) {
        for (const other of EVENT_TYPES) {
          if (other !== type) assert.equal(mayBeOfType(encode(event(other)), typeNeedle(type)), false, `${other} read as ${type}`);
        }
      }
    });
  }

  it('admits, for a full decode, an event whose payload carries the run', () => {
    assert.ok(mayBeOfType(encodeValue(event('DeviceData', { type: 'Alert' })), typeNeedle('Alert')));
  });

  it('reads a Uint8Array that is a view into a larger buffer', () => {
    const bytes = encodeValue(event('Alert'));
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 5);
    assert.ok(mayBeOfType(big.subarray(5, 5 + bytes.length), typeNeedle('Alert')));
    assert.equal(mayBeOfType(big.subarray(5, 5 + bytes.length), typeNeedle('Command')), false);
  });
});
