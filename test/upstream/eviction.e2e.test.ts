// The disk cap during a long outage (SPEC §2 `store.maxBytes`): with the link down and the
// store past its cap, the prune job evicts the oldest unforwarded events, lowest priority
// first, says so in a SystemEvent and a metric, and what is left still goes upstream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { getEvents, getMetrics, metricValue } from '../helpers/api.js';
import { firstArrivals, startCollector } from '../helpers/collector.js';
import { startDaemon } from '../helpers/daemon.js';
import { connect, publish } from '../helpers/mqtt.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

it('evicts low before normal, never an alert, records it, and forwards the rest when the link returns', async () => {
  const broker = await startUpstreamBroker();
  const proxy = await startTcpProxy(broker.port);
  proxy.cut();
  const tmp = tempDir();
  const d = await startDaemon(tmp.dir, {
    store: { maxBytes: '400kB' },
    schedules: { prune: '* * * * * *', heartbeat: '0 0 1 1 *' },
    upstream: { url: proxy.url, retry: { initialDelay: '50ms', maxDelay: '200ms' }, batch: { maxEvents: 200, linger: '10ms' } },
  });
  const device = await connect(d.brokerUrl);
  try {
    // Incompressible padding, so the store really grows past the cap.
    const pad = () => randomBytes(600).toString('base64');
    const sends: Promise<void>[] = [];
    for (let i = 1; i <= 400; i++) sends.push(publish(device, 'sensors/t1/temperature', { value: i, seq: i, priority: 'low', note: pad() }));
    for (let i = 1; i <= 400; i++) sends.push(publish(device, 'sensors/t2/temperature', { value: i, seq: i, note: pad() }));
    for (let i = 1; i <= 20; i++) sends.push(publish(device, 'sensors/alarm/smoke', { value: 1, seq: i, priority: 'high', id: `alarm-${i}`, note: pad() }));
    await Promise.all(sends);

    const notice = await waitFor(async () => (await getEvents(d.httpUrl, { type: 'SystemEvent' })).find((e) => e.payload.kind === 'eviction'),
      { timeout: 30_000, message: 'an eviction SystemEvent' });
    // The notice is stored before the first delete: wait for the eviction it announces to be done.
    const evictedTotal = (m: string) => ['low', 'normal', 'high', 'critical'].reduce((n, priority) => n + (metricValue(m, 'edgebus_store_evicted_total', { priority }) ?? 0), 0);
    const metrics = await waitFor(async () => {
      const m = await getMetrics(d.httpUrl);
      return evictedTotal(m) >= (notice.payload.evicted as number) ? m : undefined;
    }, { timeout: 30_000, message: 'the announced eviction done' });
    const low = metricValue(metrics, 'edgebus_store_evicted_total', { priority: 'low' }) ?? 0;
    assert.ok(low > 0, 'low-priority events were evicted');
    assert.equal(metricValue(metrics, 'edgebus_store_evicted_total', { priority: 'high' }) ?? 0, 0, 'no alert evicted');
    assert.equal(notice.metadata.priority, 'high');
    assert.ok((notice.payload.evicted as number) > 0);

    const left = await getEvents(d.httpUrl, { limit: 100_000 });
    const lowLeft = left.filter((e) => e.source === 't1');
    const normalLeft = left.filter((e) => e.source === 't2');
    assert.equal(left.filter((e) => e.source === 'alarm').length, 20, 'every alert kept');
    if (normalLeft.length < 400) assert.equal(lowLeft.length, 0, 'normal events went only once every low one had');
    // Oldest first: what is left of the low readings is their newest tail.
    if (lowLeft.length > 0) assert.deepEqual(lowLeft.map((e) => e.payload.value), Array.from({ length: lowLeft.length }, (_, i) => 401 - lowLeft.length + i));

    const cloud = await startCollector(broker.url, 'edgebus/test-gw/events');
    proxy.restore();
    const remaining = (await getEvents(d.httpUrl, { limit: 100_000 })).map((e) => e.seq);
    await cloud.waitForSeqs(remaining, 30_000);
    const arrived = cloud.events();
    assert.ok(arrived.some((e) => e.type === 'SystemEvent' && e.payload.kind === 'eviction'), 'the eviction notice went upstream');
    const drained = firstArrivals(arrived.filter((e) => e.metadata.priority !== 'high' && e.metadata.priority !== 'critical'));
    for (let i = 1; i < drained.length; i++) assert.ok(drained[i] > drained[i - 1], 'the backlog drained in seq order');
    await cloud.close();
  } finally {
    await device.endAsync();
    await d.stop();
    await proxy.close();
    await broker.stop();
    tmp.cleanup();
  }
});
