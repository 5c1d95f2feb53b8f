// The metrics of SPEC §7 with prom-client loaded only at the first scrape (src/http/metrics.ts):
// what was counted before the first scrape is all there in it, what comes after is added,
// and the stage histogram, kept without prom-client, reads as prom-client writes one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { Metrics } from '../../src/http/metrics.js';
import { PlainHistogram } from '../../src/http/metric-values.js';
import { metricValue } from '../helpers/api.js';
import { seqDraft } from '../helpers/drafts.js';
import type { RejectedRecord } from '../../src/store/rejected.js';
import { openRig, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T00:00:00Z');

/** A payload that did not parse, through the appender into the rejected store (which tells the bus). */
function reject(rig: StoreRig, n: number): Promise<void> {
  const record: RejectedRecord = {
    id: `bad-${n}`, time: new Date(T0).toISOString(), topic: 'sensors/m-1/temperature', payload: Buffer.from('{').toString('base64'),
    reason: 'malformed-json', detail: 'Unexpected end of JSON input', clientId: 'm-1',
  };
  return new Promise((resolve, reject) => rig.appender.submitRejected(record, (err) => (err ? reject(err) : resolve())));
}

describe('metrics, loaded at the first scrape', () => {
  let rig: StoreRig;
  let cleanup: () => void;
  let metrics: Metrics;

  before(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    rig = await openRig(tmp.dir, { now: T0 });
    metrics = new Metrics({ store: rig.store, bus: rig.bus, lastSeq: () => rig.appender.seq, dlqSize: () => 0, upstream: () => null });
  });
  after(async () => {
    await rig.close();
    cleanup();
  });

  it('counts from the start, and the first scrape shows it all', async () => {
    for (let i = 1; i <= 5; i++) await rig.appender.append(seqDraft('m-1', i, T0));
    assert.equal(await rig.appender.append(seqDraft('m-1', 3, T0)), false, 'a duplicate');
    await reject(rig, 1);
    rig.bus.emit('alert', { rule: 'hot', state: 'raised', group: 'm-1', severity: 'warning', message: 'hot', time: new Date(T0).toISOString() });
    assert.equal(metrics.loaded, false, 'prom-client not loaded before a scrape');

    const text = await metrics.text();
    assert.equal(metrics.loaded, true);
    assert.equal(metricValue(text, 'edgebus_events_ingested_total', { type: 'DeviceData' }), 5);
    assert.equal(metricValue(text, 'edgebus_events_duplicate_total', {}), 1);
    assert.equal(metricValue(text, 'edgebus_events_rejected_total', { reason: 'malformed-json' }), 1);
    assert.equal(metricValue(text, 'edgebus_rule_alerts_total', { rule: 'hot', state: 'raised' }), 1);
    assert.equal(metricValue(text, 'edgebus_store_events', {}), 5);
    const writes = metricValue(text, 'edgebus_store_writes_total', {});
    assert.ok(writes !== undefined && writes >= 1, 'group commits counted');
    assert.equal(metricValue(text, 'edgebus_stage_seconds_count', { stage: 'commit' }), writes, 'one commit observation per write');
    assert.equal(metricValue(text, 'edgebus_stage_seconds_bucket', { le: '+Inf', stage: 'commit' }), writes);
    assert.match(text, /^# TYPE edgebus_stage_seconds histogram$/m);
    // CPU time since the process started, not since prom-client was loaded a moment ago.
    const cpu = process.cpuUsage();
    const user = metricValue(text, 'process_cpu_user_seconds_total', {});
    assert.ok(user !== undefined && user >= 0.5 * (cpu.user / 1e6), `process_cpu_user_seconds_total ${user} counts from the start (${cpu.user / 1e6} s used)`);
  });

  it('and the next scrape adds what came after, without counting twice', async () => {
    const before = await metrics.text();
    for (let i = 6; i <= 8; i++) await rig.appender.append(seqDraft('m-1', i, T0));
    await reject(rig, 2);
    const text = await metrics.text();
    assert.equal(metricValue(text, 'edgebus_events_ingested_total', { type: 'DeviceData' }), 8);
    assert.equal(metricValue(text, 'edgebus_events_rejected_total', { reason: 'malformed-json' }), 2);
    assert.equal(metricValue(text, 'edgebus_events_duplicate_total', {}), 1);
    assert.ok(metricValue(text, 'edgebus_stage_seconds_count', { stage: 'commit' })! > metricValue(before, 'edgebus_stage_seconds_count', { stage: 'commit' })!);
    assert.equal(metrics.contentType, new Registry().contentType);
  });
});

describe('the stage histogram without prom-client', () => {
  it('writes what prom-client writes for the same observations', async () => {
    const bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    const registry = new Registry();
    const reference = new Histogram({ name: 'edgebus_stage_seconds', help: 'Time per stage', labelNames: ['stage'], buckets: bounds, registers: [registry] });
    const plain = new PlainHistogram<'stage'>('edgebus_stage_seconds', 'Time per stage', bounds);
    // On the bounds, between them, past the last, and sums that do not add up exactly in binary.
    const values = [0.0005, 0.0004, 0.1, 0.2, 0.30000000000000004, 1, 1.5, 0, 0.012, 7e-7];
    values.forEach((v, i) => {
      const stage = ['commit', 'ack', 'rules'][i % 3];
      reference.observe({ stage }, v);
      plain.observe({ stage }, v);
    });
    assert.equal(plain.text() + '\n', await registry.metrics());
  });

  it('writes only its help and type before any observation, as prom-client does', async () => {
    const registry = new Registry();
    new Histogram({ name: 'x_seconds', help: 'x', labelNames: ['stage'], buckets: [1], registers: [registry] });
    assert.equal(new PlainHistogram<'stage'>('x_seconds', 'x', [1]).text() + '\n', await registry.metrics());
  });
});
