// The fast reading scanner must make exactly the event (or rejection) the general
// JSON.parse path makes, for every payload: generated payloads, both paths, compared.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalize } from '../../src/ingest/normalize.js';
import { scanReading } from '../../src/ingest/reading-scanner.js';
import { TopicRouter } from '../../src/ingest/topics.js';

const router = new TopicRouter([{ topic: 'sensors/{device}/{sensor}', type: 'DeviceData' }]);
const match = router.match('sensors/gh-1/temperature')!;
const NOW = Date.UTC(2026, 10, 26, 1, 2, 3, 456);

/** mulberry32: a seeded PRNG, so a failure names a payload that can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = ['0', '-0', '21.5', '21.53', '-3.25', '1e3', '2.5E-2', '123456789012345', '1234567890123456789', '0.1', '0.30000000000000004', '1e999', '-1e999', '01', '1.', '.5', '-', '9007199254740993', '17', '1795659011789'];
const STRINGS = ['"C"', '"%"', '""', '"°C"', '"a\\"b"', '"2026-11-26T01:02:03.456Z"', '"not a time"', '"x"', '"\\u0043"'];
const OTHERS = ['true', 'false', 'null', '{}', '[1]', '{"a":1}'];
const KEYS = ['value', 'value', 'unit', 'seq', 'ts', 'id', 'accuracy', 'battery', 'rssi', 'priority', '__proto__', 'ttl'];

function generate(next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const n = Math.floor(next() * 5);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = pick(KEYS);
    const kind = next();
    const value = kind < 0.5 ? pick(NUMBERS) : kind < 0.8 ? pick(STRINGS) : pick(OTHERS);
    const gap = next() < 0.2 ? ' ' : '';
    parts.push(`${gap}"${key}"${gap}:${gap}${value}`);
  }
  return (next() < 0.1 ? ' ' : '') + '{' + parts.join(',') + '}' + (next() < 0.1 ? '\n' : '');
}

describe('reading scanner', () => {
  test('reads the canonical reading without the general path', () => {
    const r = scanReading(Buffer.from('{"value":21.53,"unit":"C","seq":17,"ts":1795659011789,"pad":"xx"}'));
    assert.ok(r);
    assert.deepEqual(r.payload, { value: 21.53, unit: 'C', pad: 'xx' });
    assert.equal(r.seq, 17);
    assert.equal(r.ts, 1795659011789);
  });

  test('gives up on what it does not read exactly', () => {
    for (const text of ['{"value":{"a":1}}', '{"unit":"\\u0043"}', '{"value":1e999}', '{"value":1,"value":2}', '{"priority":"high"}', '{}', '[1]', '{"value":1}x']) {
      assert.equal(scanReading(Buffer.from(text)), null, text);
    }
  });

  test('makes the same event or rejection as JSON.parse, for 20,000 generated payloads', () => {
    const next = rng(20261126);
    let scanned = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = generate(next);
      const bytes = Buffer.from(text);
      if (scanReading(bytes)) scanned++;
      const fast = normalize(match, bytes, NOW);
      const general = normalize(match, bytes, NOW, { scanner: false });
      assert.deepEqual(JSON.stringify(fast), JSON.stringify(general), `payload ${text}`);
    }
    // The generator must exercise the fast path, not only its fallbacks.
    assert.ok(scanned > 1_500, `only ${scanned} payloads took the fast path`);
  });
});
