// The incremental aggregates must say what a full pass over the window says, after every
// event, whatever the window does: slide, tumble, cap, or take a late event.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { computeAggregates, parseAggregate } from '../../src/rules/aggregates.js';
import { eventTime } from '../../src/rules/event-time.js';
import { createWindow } from '../../src/rules/windows.js';
import type { WindowSpec } from '../../src/rules/types.js';

const REFS = ['count', 'sum(value)', 'avg(value)', 'min(value)', 'max(value)', 'stddev(value)', 'first(value)', 'last(value)', 'delta(value)', 'rate(value)', 'distinct(value)']
  .map((k) => parseAggregate(k, []));

/** A deterministic stream: mostly in order, every 17th reading late, some non-numeric. */
function stream(n: number): EdgeEvent[] {
  let x = 7;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: EdgeEvent[] = [];
  let t = Date.parse('2026-11-26T00:00:00Z');
  for (let i = 0; i < n; i++) {
    t += Math.floor(rand() * 2000);
    const at = i % 17 === 16 ? t - 5_000 : t;
    const value = i % 23 === 0 ? 'n/a' : Math.round(rand() * 100) / 4;
    out.push({
      id: `e${i}`, type: 'DeviceData', source: 's', timestamp: new Date(at).toISOString(), seq: i + 1, payload: { value },
      sensor: { type: 't', value, unit: null, accuracy: null, timestamp: new Date(at).toISOString() },
      metadata: { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null },
    });
  }
  return out;
}

function close(a: Record<string, number | null>, b: Record<string, number | null>, at: string): void {
  for (const k of Object.keys(b)) {
    const x = a[k];
    const y = b[k];
    if (x === null || y === null) assert.equal(x, y, `${at}: ${k}`);
    else assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y)), `${at}: ${k} incremental ${x} vs full pass ${y}`);
  }
}

for (const spec of [
  { kind: 'sliding', ms: 20_000 },
  { kind: 'tumbling', ms: 30_000 },
  { kind: 'count', n: 25 },
  { kind: 'session', gapMs: 1_500 },
] as WindowSpec[]) {
  it(`a ${spec.kind} window's incremental aggregates equal a full pass after every event`, () => {
    const w = createWindow(spec, REFS, 40);
    const events = stream(2_000);
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const e of events) {
      w.add(e, eventTime(e));
      // Under the cap of 40 the window names every event it holds.
      const held = w.ids().map((id) => byId.get(id)!);
      assert.equal(held.length, w.size());
      close(w.values(), computeAggregates(REFS, held, eventTime), `${spec.kind} after ${e.id}`);
    }
  });
}
