// The dashboard history (src/http/history.ts): a bounded ring of samples, the ingest rate
// from 'committed' events, and the last alerts from the bus's stored-alert events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { History, HISTORY_ALERTS, HISTORY_SAMPLES, historyIntervalMs } from '../../src/http/history.js';
import { EventBus, type StoredAlert } from '../../src/pipeline/bus.js';

const commit = (events: number) => ({ events, duplicates: 0, rejected: 0, staged: 0, submissions: events, writeSeconds: 0, ackSeconds: 0 });
const alert = (i: number): StoredAlert => ({
  time: new Date(i * 1000).toISOString(), rule: 'hot', group: 'gh-1', state: i % 2 ? 'cleared' : 'raised', severity: 'warning', message: `m${i}`,
});

describe('History', () => {
  it('keeps the rate per sample and at most an hour of samples, oldest first', async () => {
    const bus = new EventBus();
    let now = 0;
    const h = new History({ bus, now: () => now, sample: () => ({ backlog: 7, upstreamConnected: null, storeBytes: 100 }) });
    bus.emit('committed', commit(30));
    now = 10_000;
    await h.sample();
    assert.deepEqual(h.snapshot().samples, [{ t: 10_000, ingestRate: 3, backlog: 7, upstreamConnected: null, storeBytes: 100 }]);
    for (let i = 0; i < HISTORY_SAMPLES + 5; i++) {
      now += 10_000;
      await h.sample();
    }
    const { samples, capacity } = h.snapshot();
    assert.equal(capacity, HISTORY_SAMPLES);
    assert.equal(samples.length, HISTORY_SAMPLES);
    assert.equal(samples.at(-1)!.t, now);
    assert.equal(samples[0].t, now - (HISTORY_SAMPLES - 1) * 10_000);
    assert.equal(samples.at(-1)!.ingestRate, 0);
    h.stop();
  });

  it('keeps the last alerts newest first, with their messages, and stops listening on stop()', () => {
    const bus = new EventBus();
    const h = new History({ bus, sample: () => ({ backlog: 0, upstreamConnected: true, storeBytes: 0 }) });
    for (let i = 1; i <= HISTORY_ALERTS + 10; i++) bus.emit('alert', alert(i));
    const { alerts } = h.snapshot();
    assert.equal(alerts.length, HISTORY_ALERTS);
    assert.deepEqual(alerts[0], { time: new Date((HISTORY_ALERTS + 10) * 1000).toISOString(), rule: 'hot', state: 'raised', group: 'gh-1', severity: 'warning', message: `m${HISTORY_ALERTS + 10}` });
    h.stop();
    bus.emit('alert', alert(999));
    assert.equal(h.snapshot().alerts[0].message, `m${HISTORY_ALERTS + 10}`);
  });

  it('reads its interval from EDGEBUS_HISTORY_MS (tests and demos) or defaults to 10 s', () => {
    assert.equal(historyIntervalMs({}), 10_000);
    assert.equal(historyIntervalMs({ EDGEBUS_HISTORY_MS: '250' }), 250);
    assert.equal(historyIntervalMs({ EDGEBUS_HISTORY_MS: 'x' }), 10_000);
  });
});
