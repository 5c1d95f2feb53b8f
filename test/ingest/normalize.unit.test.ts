import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { normalize } from '../../src/ingest/normalize.js';
import { TopicRouter } from '../../src/ingest/topics.js';
import { draftOn, normalizeOn } from '../helpers/drafts.js';

const RECEIVED = Date.parse('2026-11-26T01:02:03.456Z');
const RECEIVED_ISO = '2026-11-26T01:02:03.456Z';
const TEMP = 'sensors/greenhouse-1/temperature';

function rejectionOf(topic: string, payload: string | object | Buffer): { reason: string; detail: string } {
  const n = normalizeOn(topic, payload, RECEIVED);
  assert.equal(n.ok, false, 'expected a rejection');
  return (n as { ok: false; rejection: { reason: string; detail: string } }).rejection;
}

describe('DeviceData readings', () => {
  test('a bare number', () => {
    const d = draftOn(TEMP, ' 21.5\n', RECEIVED);
    assert.equal(d.type, 'DeviceData');
    assert.equal(d.source, 'greenhouse-1');
    assert.equal(d.timestamp, RECEIVED_ISO);
    assert.equal(d.receivedAt, RECEIVED);
    assert.deepEqual(d.payload, { value: 21.5 });
    assert.deepEqual(d.sensor, { type: 'temperature', value: 21.5, unit: null, accuracy: null, timestamp: RECEIVED_ISO });
    assert.deepEqual(d.device, { id: 'greenhouse-1' });
    assert.deepEqual(d.metadata, { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null });
    assert.equal(d.id, null);
    assert.equal(d.deviceSeq, null);
    assert.equal(d.explicitId, false);
  });

  test('a JSON object with value, unit, ISO ts, seq and accuracy', () => {
    const d = draftOn(TEMP, { value: 21.5, unit: 'C', ts: '2026-11-26T01:00:00+01:00', seq: 17, accuracy: 0.5 }, RECEIVED);
    assert.equal(d.timestamp, '2026-11-26T00:00:00.000Z');
    assert.equal(d.deviceSeq, 17);
    assert.equal(d.id, null, 'an id from seq is made by the sequencer, not here');
    assert.deepEqual(d.sensor, { type: 'temperature', value: 21.5, unit: 'C', accuracy: 0.5, timestamp: '2026-11-26T00:00:00.000Z' });
    assert.deepEqual(d.payload, { value: 21.5, unit: 'C' });
  });

  test('ts in epoch milliseconds', () => {
    const d = draftOn(TEMP, { value: 1, ts: 1_764_118_923_456 }, RECEIVED);
    assert.equal(d.timestamp, new Date(1_764_118_923_456).toISOString());
    assert.equal(d.sensor?.timestamp, d.timestamp);
  });

  test('id, priority, ttl, correlationId, location and network', () => {
    const d = draftOn(TEMP, {
      value: 3, id: 'reading-42', priority: 'critical', ttl: 90, correlationId: 'corr-1',
      location: { lat: 52.5, lon: 13.4, alt: 34 }, network: { rssi: -71, snr: 7.5, gw: 'lora-1' },
      battery: 3.1,
    }, RECEIVED);
    assert.equal(d.id, 'reading-42');
    assert.equal(d.explicitId, true);
    assert.deepEqual(d.metadata, { correlationId: 'corr-1', causationId: null, version: '1', priority: 'critical', ttl: 90 });
    assert.deepEqual(d.location, { lat: 52.5, lon: 13.4, alt: 34 });
    assert.deepEqual(d.network, { rssi: -71, snr: 7.5, gw: 'lora-1' });
    assert.deepEqual(d.payload, { value: 3, battery: 3.1 }, 'envelope keys leave the payload; other keys stay');
  });

  test('ttl as a duration is seconds; a location without alt gets alt null', () => {
    const d = draftOn(TEMP, { value: 1, ttl: '5m', location: { lat: -33.9, lon: 151.2 } }, RECEIVED);
    assert.equal(d.metadata.ttl, 300);
    assert.deepEqual(d.location, { lat: -33.9, lon: 151.2, alt: null });
  });

  test('a custom mapping: sensor from its template, device from {device}', () => {
    const match = new TopicRouter([
      { topic: 'farm/{site}/{device}/{metric}', type: 'DeviceData', source: '{site}-{device}', sensor: '{metric}' },
    ]).match('farm/north/pump1/pressure')!;
    const n = normalize(match, Buffer.from('2.4'), RECEIVED);
    assert.ok(n.ok);
    assert.equal(n.draft.source, 'north-pump1');
    assert.equal(n.draft.sensor?.type, 'pressure');
    assert.deepEqual(n.draft.device, { id: 'pump1' });
  });

  test('a JSON object after leading whitespace is still a JSON object', () => {
    const d = draftOn(TEMP, '\n  {"value": 20.5, "unit": "C"}', RECEIVED);
    assert.deepEqual(d.payload, { value: 20.5, unit: 'C' });
  });
});

describe('DeviceStatus', () => {
  const STATUS = 'devices/pump-7/status';

  test('online and offline', () => {
    for (const state of ['online', 'offline']) {
      const d = draftOn(STATUS, `${state}\n`, RECEIVED);
      assert.equal(d.type, 'DeviceStatus');
      assert.equal(d.source, 'pump-7');
      assert.deepEqual(d.payload, { state });
      assert.deepEqual(d.device, { id: 'pump-7' });
      assert.equal(d.sensor, undefined);
    }
  });

  test('a JSON object with envelope keys', () => {
    const d = draftOn(STATUS, { state: 'online', fw: '1.4.2', seq: 3, ts: 1_764_118_000_000 }, RECEIVED);
    assert.deepEqual(d.payload, { state: 'online', fw: '1.4.2' });
    assert.equal(d.deviceSeq, 3);
    assert.equal(d.timestamp, new Date(1_764_118_000_000).toISOString());
  });

  test('bad status text and a non-string state are rejected', () => {
    const text = rejectionOf(STATUS, 'rebooting');
    assert.equal(text.reason, 'invalid-status');
    assert.match(text.detail, /online, offline or a JSON object.*"rebooting"/);
    assert.equal(rejectionOf(STATUS, { state: 1 }).reason, 'invalid-status');
    assert.equal(rejectionOf(STATUS, '[1]').reason, 'invalid-status');
  });
});

describe('rejections carry their reason', () => {
  const cases: [string, string | object | Buffer, string, RegExp][] = [
    ['empty payload', '', 'empty-payload', /empty/],
    ['invalid UTF-8 bytes', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid-utf8', /UTF-8/],
    ['malformed JSON', '{"value": 21.5,', 'malformed-json', /JSON/],
    ['a JSON array', '[21.5, 22]', 'invalid-value', /a number or a JSON object/],
    ['non-numeric bare text', 'warm', 'invalid-value', /"warm"/],
    ['whitespace only', '   ', 'invalid-value', /a number or a JSON object/],
    ['value Infinity in JSON (1e999)', '{"value": 1e999}', 'invalid-value', /finite number/],
    ['bare 1e999', '1e999', 'invalid-value', /a number or a JSON object/],
    ['a nested value', { value: { a: 1 } }, 'invalid-value', /finite number/],
    ['ts that is not a time', { value: 1, ts: 'yesterday' }, 'invalid-timestamp', /"yesterday"/],
    ['negative ts', { value: 1, ts: -5 }, 'invalid-timestamp', /-5/],
    ['ts past year 9999', { value: 1, ts: 8.64e15 }, 'invalid-timestamp', /ts must be/],
    ['negative seq', { value: 1, seq: -1 }, 'invalid-seq', /-1/],
    ['float seq', { value: 1, seq: 1.5 }, 'invalid-seq', /1\.5/],
    ['string seq', { value: 1, seq: '7' }, 'invalid-seq', /"7"/],
    ['empty id', { value: 1, id: '' }, 'invalid-id', /non-empty/],
    ['numeric id', { value: 1, id: 42 }, 'invalid-id', /string/],
    ['over-long id', { value: 1, id: 'x'.repeat(257) }, 'invalid-id', /256/],
    ['bad priority', { value: 1, priority: 'urgent' }, 'invalid-payload', /"urgent"/],
    ['zero ttl', { value: 1, ttl: 0 }, 'invalid-payload', /ttl/],
    ['non-string unit', { value: 1, unit: 5 }, 'invalid-payload', /unit/],
    ['location out of range', { value: 1, location: { lat: 91, lon: 0 } }, 'invalid-payload', /location/],
    ['network with nested values', { value: 1, network: { rssi: { dbm: -70 } } }, 'invalid-payload', /network/],
    ['a __proto__ key', '{"value": 1, "__proto__": {"polluted": true}}', 'invalid-payload', /__proto__/],
  ];
  for (const [name, payload, reason, detail] of cases) {
    test(name, () => {
      const r = rejectionOf(TEMP, payload);
      assert.equal(r.reason, reason);
      assert.match(r.detail, detail);
    });
  }

  test('a JSON array on an object-only mapping is invalid-payload', () => {
    const match = new TopicRouter([{ topic: 'erp/orders', type: 'BusinessEvent' }]).match('erp/orders')!;
    const n = normalize(match, Buffer.from('[{"order": 1}]'), RECEIVED);
    assert.equal(n.ok, false);
    assert.deepEqual(!n.ok && n.rejection, { reason: 'invalid-payload', detail: 'expected a JSON object' });
  });

  test('a __proto__ key never reaches the prototype', () => {
    normalizeOn(TEMP, '{"value": 1, "__proto__": {"polluted": true}}', RECEIVED);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });
});
