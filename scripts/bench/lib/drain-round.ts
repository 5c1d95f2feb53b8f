// One round of the drain benchmark: a daemon whose upstream is cut builds a backlog of
// exactly `events` readings; mosquitto starts (the link returns) and a reading that raises a
// critical alert is published at once; the backlog is timed to 0 while the daemon's RSS is
// sampled; then, with the daemon stopped, the same events are scanned out of its LevelDB
// and published as the same batches to the same mosquitto: the two ceilings.
import mqtt, { type MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { encodeBatches, publishCeiling, scanCeiling, type ScanResult } from './drain-ceilings.js';
import { cpuSeconds, EVENTS_TOPIC, GATEWAY_ID, rssMiB, startDaemon, startMosquitto, tableMappedMiB, type HeapFigures, type Rss } from './drain-daemon.js';
import { fillBacklog } from './drain-fill.js';
import { freePort } from './ports.js';
import { summariseWindow, newestProfile } from './drain-profile.js';
import { BatchSubscriber } from './drain-subscriber.js';
import type { ProfileSummary } from './cpuprofile.js';
import { median } from './stats.js';

/** The rule the live alert goes through: one reading from `alarm` above 900 raises it, critical. */
const ALERT_RULE = `id: drain-live-alert
match: { sensor: temperature, source: alarm }
where: { value: { gt: 900 } }
emit: { severity: critical, priority: critical, message: "alarm {value}" }
`;
const ALERT_MARKER = 'drain-live-alert';
const RSS_EVERY_MS = 200;
/**
 * The backlog is read from /metrics, and each read makes the daemon stat every file of its
 * store (edgebus_store_bytes): at 10 reads a second that was ~5 % of its CPU in a 1M drain,
 * and stats queued on the thread pool LevelDB reads on. So it is read once a second until
 * the subscriber has seen as many events as the backlog held, then every 10 ms.
 */
const SLOW_POLL_MS = 1000;
const FAST_POLL_MS = 10;
const DRAIN_TIMEOUT_MS = 15 * 60_000;
const ALERT_TIMEOUT_MS = 10_000;
/** The shipped defaults (src/config/schema.ts), for the publish ceiling's batches. */
const DEFAULT_MAX_EVENTS = 500;
const DEFAULT_MAX_BYTES = 256 * 1024;
const DEFAULT_INFLIGHT = 4;
/** The publish ceiling encodes its batches up front: past this many events it measures a prefix. */
const PUBLISH_CEILING_LIMIT = 300_000;

export interface RoundSettings {
  events: number;
  round: number;
  connections: number;
  window: number;
  inflight: number | null;
  maxEvents: number | null;
  profileDir: string | null;
  /** Seconds between the backlog's last reading and the link's return. */
  settleSeconds: number;
}

export interface DrainRound {
  events: number;
  round: number;
  fillPerSecond: number;
  /** Backlog the daemon reported just before the link returned (readings plus its own events). */
  backlog: number;
  drainSeconds: number;
  drainPerSecond: number;
  /** The daemon's CPU (user + system, all threads) per drained event, link up to backlog 0. */
  daemonCpuMicrosPerEvent: number;
  scan: ScanResult;
  publish: ScanResult;
  /** Link's return (mosquitto listening) → daemon logs the link up / first batch / live alert at the subscriber. */
  reconnectMs: number | null;
  firstBatchMs: number | null;
  alertMs: number | null;
  /** Batches and events the subscriber saw during the drain; firstBatchNumber > 1 means it subscribed late. */
  seenEvents: number;
  firstBatchNumber: number | null;
  rssBeforeMiB: number;
  /** V8's heap just before the link returns and once the backlog is 0 (MiB). */
  heapBefore: HeapFigures;
  heapAfter: HeapFigures | null;
  /** The daemon just started, before the backlog was built. */
  rssIdle: Rss;
  /** Resident MiB of mapped LevelDB tables when the link returns and when the backlog is 0. */
  tablesBeforeMiB: number;
  tablesAfterMiB: number;
  rssPeakMiB: number;
  rssFirstQuarterMiB: number;
  rssLastQuarterMiB: number;
  /** The same quarters of RssAnon (heaps) and RssFile (mapped table files). */
  anonFirstQuarterMiB: number;
  anonLastQuarterMiB: number;
  fileFirstQuarterMiB: number;
  fileLastQuarterMiB: number;
  rssSamples: number;
  /** Every sample while draining: seconds since the link's return, VmRSS, RssAnon, RssFile in MiB (in the JSON summary). */
  rssSeries: [number, number, number, number][];
  profile: ProfileSummary | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function drainRound(s: RoundSettings): Promise<DrainRound> {
  const upstreamPort = await freePort();
  const daemon = await startDaemon({ upstreamPort, rules: { 'live-alert.yaml': ALERT_RULE }, inflight: s.inflight, maxEvents: s.maxEvents, cpuProfileDir: s.profileDir });
  const rssIdle = rssMiB(daemon.pid);
  let alarm: MqttClient | null = null;
  try {
    const fill = await fillBacklog(daemon.brokerPort, s.events, s.connections, s.window, `bench-drain-r${s.round}`);
    // A real backlog builds at the sensors' rate over an outage that outlasts it; this one was
    // built flat out in seconds, and the daemon's heap still has the size it took for that.
    await sleep(s.settleSeconds * 1000);
    alarm = await mqtt.connectAsync({ host: '127.0.0.1', port: daemon.brokerPort, reconnectPeriod: 0, clientId: `bench-drain-alarm-${s.round}` });
    const backlog = await daemon.backlog();
    const rssBeforeMiB = rssMiB(daemon.pid).total;
    const heapBefore = await daemon.heap();
    const tablesBefore = tableMappedMiB(daemon.pid);
    const rss: { t: number; mib: number; anon: number; file: number }[] = [];

    const mosquitto = await startMosquitto(upstreamPort);
    const linkUpAt = performance.now();
    const cpuAtLinkUp = cpuSeconds(daemon.pid);
    const sampler = setInterval(() => {
      try {
        const r = rssMiB(daemon.pid);
        rss.push({ t: performance.now(), mib: r.total, anon: r.anon, file: r.file });
      } catch {
        // The daemon died: the drain loop reports it.
      }
    }, RSS_EVERY_MS);
    let sub: BatchSubscriber | null = null;
    try {
      sub = await BatchSubscriber.open(upstreamPort, EVENTS_TOPIC, ALERT_MARKER);
      await alarm.publishAsync('sensors/alarm/temperature', JSON.stringify({ value: 999, unit: 'C' }), { qos: 1 });
      const deadline = linkUpAt + DRAIN_TIMEOUT_MS;
      let drainedAt: number | null = null;
      let cpuAtDrained = 0;
      let heapAtDrained: HeapFigures | null = null;
      let tablesAtDrained = 0;
      const nearlyAll = sub.reached(backlog);
      let arrived = false;
      void nearlyAll.then(() => (arrived = true));
      while (drainedAt === null) {
        if (performance.now() > deadline) throw new Error(`backlog not drained after ${DRAIN_TIMEOUT_MS} ms`);
        if (arrived) await sleep(FAST_POLL_MS);
        else await Promise.race([nearlyAll, sleep(SLOW_POLL_MS)]);
        if ((await daemon.backlog()) === 0) {
          drainedAt = performance.now();
          cpuAtDrained = cpuSeconds(daemon.pid);
          heapAtDrained = await daemon.heap();
          tablesAtDrained = tableMappedMiB(daemon.pid);
        }
      }
      clearInterval(sampler);
      const alertDeadline = performance.now() + ALERT_TIMEOUT_MS;
      while (sub.alertAt === null && performance.now() < alertDeadline) await sleep(10);
      const stopAt = performance.now();
      await daemon.stop();
      let profile: ProfileSummary | null = null;
      const file = s.profileDir === null ? null : newestProfile(s.profileDir);
      // The profile ends at the daemon's exit, a little after stopAt: the window errs late by the shutdown.
      if (file !== null) profile = summariseWindow(file, stopAt - linkUpAt, stopAt - drainedAt);

      const scan = await scanCeiling(daemon.dataDir);
      const maxEvents = s.maxEvents ?? DEFAULT_MAX_EVENTS;
      const encoded = await encodeBatches(daemon.dataDir, maxEvents, DEFAULT_MAX_BYTES, GATEWAY_ID, Math.min(s.events, PUBLISH_CEILING_LIMIT));
      const seenEvents = sub.events;
      const firstBatchNumber = sub.firstBatchNumber;
      const publish = await publishCeiling(upstreamPort, EVENTS_TOPIC, encoded.batches, encoded.events, s.inflight ?? DEFAULT_INFLIGHT);

      const drainSeconds = (drainedAt - linkUpAt) / 1000;
      const during = rss.filter((x) => x.t <= drainedAt);
      const q = Math.max(1, Math.floor(during.length / 4));
      const since = (t: number | null): number | null => (t === null ? null : t - linkUpAt);
      return {
        events: s.events, round: s.round,
        fillPerSecond: fill.events / fill.seconds,
        backlog, drainSeconds, drainPerSecond: backlog / drainSeconds,
        daemonCpuMicrosPerEvent: ((cpuAtDrained - cpuAtLinkUp) * 1e6) / backlog,
        scan, publish,
        reconnectMs: since(daemon.linkUpLoggedAt()), firstBatchMs: since(sub.firstBatchAt), alertMs: since(sub.alertAt),
        seenEvents, firstBatchNumber,
        rssBeforeMiB, heapBefore, heapAfter: heapAtDrained, rssIdle, tablesBeforeMiB: tablesBefore, tablesAfterMiB: tablesAtDrained,
        rssPeakMiB: Math.max(...during.map((x) => x.mib)),
        rssFirstQuarterMiB: median(during.slice(0, q).map((x) => x.mib)),
        rssLastQuarterMiB: median(during.slice(-q).map((x) => x.mib)),
        anonFirstQuarterMiB: median(during.slice(0, q).map((x) => x.anon)),
        anonLastQuarterMiB: median(during.slice(-q).map((x) => x.anon)),
        fileFirstQuarterMiB: median(during.slice(0, q).map((x) => x.file)),
        fileLastQuarterMiB: median(during.slice(-q).map((x) => x.file)),
        rssSamples: during.length,
        rssSeries: during.map((x) => [Number(((x.t - linkUpAt) / 1000).toFixed(2)), Number(x.mib.toFixed(1)), Number(x.anon.toFixed(1)), Number(x.file.toFixed(1))]),
        profile,
      };
    } finally {
      clearInterval(sampler);
      await sub?.close();
      await mosquitto.stop();
    }
  } finally {
    alarm?.end(true);
    await daemon.stop();
    daemon.remove();
  }
}
