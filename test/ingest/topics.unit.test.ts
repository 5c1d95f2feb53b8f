import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IngestMapping } from '../../src/config/schema.js';
import { TopicRouter } from '../../src/ingest/topics.js';

const DEFAULTS: IngestMapping[] = [
  { topic: 'sensors/{device}/{sensor}', type: 'DeviceData' },
  { topic: 'devices/{device}/status', type: 'DeviceStatus' },
];

describe('TopicRouter with the default mappings', () => {
  const router = new TopicRouter(DEFAULTS);

  test('sensors/{device}/{sensor} becomes DeviceData from the device', () => {
    assert.deepEqual(router.match('sensors/greenhouse-1/temperature'), {
      type: 'DeviceData',
      source: 'greenhouse-1',
      sensor: 'temperature',
      captures: { device: 'greenhouse-1', sensor: 'temperature' },
      device: { id: 'greenhouse-1' },
    });
  });

  test('a topic seen again gets the same (frozen) match', () => {
    const first = router.match('sensors/greenhouse-2/humidity');
    assert.equal(router.match('sensors/greenhouse-2/humidity'), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first!.device));
    assert.equal(router.match('sensors/greenhouse-3/humidity')!.source, 'greenhouse-3');
  });

  test('devices/{device}/status becomes DeviceStatus with no sensor', () => {
    assert.deepEqual(router.match('devices/pump-7/status'), {
      type: 'DeviceStatus',
      source: 'pump-7',
      sensor: null,
      captures: { device: 'pump-7' },
      device: { id: 'pump-7' },
    });
  });

  test('topics no mapping covers pass through (null)', () => {
    assert.equal(router.match('cmd/pump-7'), null);
    assert.equal(router.match('alerts/overheat/greenhouse-1'), null);
    assert.equal(router.match('devices/pump-7/state'), null);
    assert.equal(router.match('Sensors/a/b'), null, 'literal levels are case-sensitive');
  });

  test('the number of levels must match exactly', () => {
    assert.equal(router.match('sensors/greenhouse-1'), null);
    assert.equal(router.match('sensors/greenhouse-1/temperature/raw'), null);
    assert.equal(router.match('sensors'), null);
    assert.equal(router.match('/sensors/a/b'), null);
  });

  test('an empty level is never captured', () => {
    assert.equal(router.match('sensors//temperature'), null);
    assert.equal(router.match('sensors/greenhouse-1/'), null);
    assert.equal(router.match('devices//status'), null);
  });
});

describe('TopicRouter with custom mappings', () => {
  test('source and sensor templates combine captures', () => {
    const router = new TopicRouter([
      { topic: 'farm/{site}/{unit}/{metric}', type: 'DeviceData', source: '{site}-{unit}', sensor: '{metric}' },
    ]);
    assert.deepEqual(router.match('farm/north/pump1/pressure'), {
      type: 'DeviceData',
      source: 'north-pump1',
      sensor: 'pressure',
      captures: { site: 'north', unit: 'pump1', metric: 'pressure' },
      device: { id: 'north-pump1' },
    });
  });

  test('a literal sensor template and a mapping without {device}', () => {
    const router = new TopicRouter([
      { topic: 'lora/{gw}/uplink', type: 'DeviceData', source: 'lora-{gw}', sensor: 'rssi' },
      { topic: 'erp/orders', type: 'BusinessEvent' },
    ]);
    const lora = router.match('lora/gw3/uplink');
    assert.equal(lora?.source, 'lora-gw3');
    assert.equal(lora?.sensor, 'rssi');
    const erp = router.match('erp/orders');
    assert.equal(erp?.type, 'BusinessEvent');
    assert.equal(erp?.source, 'erp/orders', 'with no {device} the source is the topic template');
    assert.equal(erp?.sensor, null);
  });

  test('the first matching mapping wins', () => {
    const router = new TopicRouter([
      { topic: 'sensors/special/{sensor}', type: 'BusinessEvent', source: 'special' },
      ...DEFAULTS,
    ]);
    assert.equal(router.match('sensors/special/x')?.type, 'BusinessEvent');
    assert.equal(router.match('sensors/special/x')?.source, 'special');
    assert.equal(router.match('sensors/other/x')?.type, 'DeviceData');
  });

  test('a level that only looks like a capture is a literal', () => {
    const router = new TopicRouter([{ topic: 'raw/{device}x/data', type: 'DeviceData', source: 'raw' }]);
    assert.equal(router.match('raw/abc/data'), null);
    assert.equal(router.match('raw/{device}x/data')?.source, 'raw');
  });

  test('no mappings: everything passes through', () => {
    assert.equal(new TopicRouter([]).match('sensors/a/b'), null);
  });
});
