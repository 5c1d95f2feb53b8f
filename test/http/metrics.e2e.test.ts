// /metrics end to end (SPEC §7): every metric the spec lists is exposed, with Node's process
// metrics, and each one moves when what it counts happens — readings published with MQTT.js,
// a bad payload, a duplicate id, a rule that fires, an upstream broker that goes away and
// comes back.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getMetrics, metricValue } from '../helpers/api.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { connect, publish, type MqttClient } from '../helpers/mqtt.js';
import { hotRule } from '../helpers/rules.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const SPEC_METRICS = [
  'edgebus_events_ingested_total',
  'edgebus_events_rejected_total',
  'edgebus_events_duplicate_total',
  'edgebus_store_events',
  'edgebus_store_bytes',
  'edgebus_upstream_connected',
  'edgebus_upstream_backlog_events',
  'edgebus_upstream_oldest_unsent_seconds',
  'edgebus_upstream_forwarded_total',
  'edgebus_upstream_retries_total',
  'edgebus_dlq_events',
  'edgebus_rule_alerts_total',
  'edgebus_stage_seconds',
];

const HOT = hotRule({ count: 2 });

const FAST_RETRY = { initialDelay: '50ms', maxDelay: '300ms', multiplier: 2, jitter: true, maxAttempts: 2 };

describe('/metrics', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cloud: UpstreamBroker;
  let d: RunningDaemon;
  let device: MqttClient;

  /** Waits until `check` holds for one scrape; returns that scrape. */
  const scrapeUntil = (check: (text: string) => boolean, message: string): Promise<string> =>
    waitFor(async () => {
      const text = await getMetrics(d.httpUrl);
      return check(text) ? text : undefined;
    }, { message, timeout: 15_000 });
  const value = (text: string, name: string, labels: Record<string, string> = {}): number => metricValue(text, name, labels) ?? 0;

  before(async () => {
    tmp = tempDir();
    mkdirSync(join(tmp.dir, 'rules'), { recursive: true });
    writeFileSync(join(tmp.dir, 'rules', 'hot.yaml'), HOT);
    cloud = await startUpstreamBroker();
    d = await startDaemon(tmp.dir, {
      upstream: { url: cloud.url, keepalive: '2s', retry: FAST_RETRY, batch: { maxEvents: 100, linger: '20ms' } },
    });
    device = await connect(d.brokerUrl);
  });

  after(async () => {
    await device?.endAsync(true);
    await d?.stop();
    await cloud?.stop();
    tmp?.cleanup();
  });

  it('lists every metric SPEC §7 names, and Node process metrics', async () => {
    const text = await getMetrics(d.httpUrl);
    for (const name of SPEC_METRICS) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exposed`);
    assert.match(text, /^# TYPE edgebus_stage_seconds histogram$/m);
    assert.ok(value(text, 'process_cpu_user_seconds_total') > 0, 'process_cpu_user_seconds_total');
    assert.ok(value(text, 'nodejs_heap_size_used_bytes') > 0, 'nodejs_heap_size_used_bytes');
  });

  it('counts readings in, through the rules and out upstream, per stage', async () => {
    await scrapeUntil((t) => value(t, 'edgebus_upstream_connected') === 1, 'upstream connected 1');
    const before = await getMetrics(d.httpUrl);
    for (const v of [31, 32, 33]) await publish(device, 'sensors/gh-1/temperature', { value: v, unit: 'C' });
    const text = await scrapeUntil((t) =>
      value(t, 'edgebus_events_ingested_total', { type: 'DeviceData' }) >= value(before, 'edgebus_events_ingested_total', { type: 'DeviceData' }) + 3
      && value(t, 'edgebus_rule_alerts_total', { rule: 'hot', state: 'raised' }) === 1
      && value(t, 'edgebus_upstream_forwarded_total') >= value(before, 'edgebus_upstream_forwarded_total') + 4
      && value(t, 'edgebus_upstream_backlog_events') === 0, 'readings and the alert counted and forwarded');
    assert.ok(value(text, 'edgebus_events_ingested_total', { type: 'Alert' }) >= 1, 'the alert is an ingested event too');
    for (const stage of ['commit', 'ack', 'rules', 'forward']) {
      assert.ok(value(text, 'edgebus_stage_seconds_count', { stage }) > value(before, 'edgebus_stage_seconds_count', { stage }), `stage ${stage} observed`);
      assert.notEqual(metricValue(text, 'edgebus_stage_seconds_bucket', { stage, le: '+Inf' }), undefined, `stage ${stage} buckets`);
    }
    assert.equal(value(text, 'edgebus_upstream_oldest_unsent_seconds'), 0);
    assert.ok(value(text, 'edgebus_store_events') >= 4, 'store events');
    assert.ok(value(text, 'edgebus_store_bytes') > 0, 'store bytes');
  });

  it('counts a bad payload by reason, in the DLQ, and a duplicate id', async () => {
    const before = await getMetrics(d.httpUrl);
    await publish(device, 'sensors/gh-2/temperature', { value: 20, seq: -5 });
    await publish(device, 'sensors/gh-2/temperature', { value: 20, id: 'metrics-dup-1' });
    await publish(device, 'sensors/gh-2/temperature', { value: 20, id: 'metrics-dup-1' });
    const text = await scrapeUntil((t) =>
      value(t, 'edgebus_events_rejected_total', { reason: 'invalid-seq' }) === value(before, 'edgebus_events_rejected_total', { reason: 'invalid-seq' }) + 1
      && value(t, 'edgebus_events_duplicate_total') === value(before, 'edgebus_events_duplicate_total') + 1, 'rejected and duplicate counted');
    assert.equal(value(text, 'edgebus_dlq_events'), value(before, 'edgebus_dlq_events') + 1);
  });

  it('shows the link down, the backlog and its age growing, retries, then the backlog drained', async () => {
    await cloud.stop();
    await scrapeUntil((t) => value(t, 'edgebus_upstream_connected') === 0, 'upstream connected 0');
    const down = await getMetrics(d.httpUrl);
    await publish(device, 'sensors/gh-3/humidity', { value: 55 });
    await publish(device, 'sensors/gh-3/humidity', { value: 56 });
    await scrapeUntil((t) =>
      value(t, 'edgebus_upstream_backlog_events') >= 2
      && value(t, 'edgebus_upstream_oldest_unsent_seconds') > 0
      && value(t, 'edgebus_upstream_retries_total') > value(down, 'edgebus_upstream_retries_total'), 'a backlog, its age and retries');
    await cloud.start();
    const text = await scrapeUntil((t) =>
      value(t, 'edgebus_upstream_connected') === 1
      && value(t, 'edgebus_upstream_backlog_events') === 0
      && value(t, 'edgebus_upstream_oldest_unsent_seconds') === 0, 'the backlog drained');
    assert.ok(value(text, 'edgebus_upstream_forwarded_total') >= value(down, 'edgebus_upstream_forwarded_total') + 2, 'forwarded counts the backlog');
  });
});
