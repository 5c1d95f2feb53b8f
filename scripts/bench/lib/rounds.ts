// One measured run against one freshly started target: a throughput round (closed loop,
// every window kept full) or a latency round (open loop at a fixed rate).
import { performance } from 'node:perf_hooks';
import { cpuSeconds, machineBusySeconds } from './children.js';
import type { LoadSpec } from './load-protocol.js';
import { diskWriteBytes } from './sd-wear.js';
import { scrapeStoreCounters, type StoreCounters } from './prom.js';
import { runLoad } from './run-load.js';
import { startTarget, type TargetName } from './targets.js';

export interface LoadShape {
  connections: number;
  window: number;
  warmup: number;
  seconds: number;
}

export interface ThroughputRound {
  round: number;
  target: TargetName;
  msgsPerSecond: number;
  /** CPU the broker process used during the measured window, in cores. */
  targetCores: number;
  loadgenCores: number;
  /** Every process on the machine: well above broker + loadgen means something else competed. */
  machineCores: number;
  peakRssMiB: number;
  /** Events appended per LevelDB batch write; edgebus only. */
  eventsPerWrite: number | null;
  /** edgebus only: bytes written to disk (/proc/<pid>/io write_bytes) per event in the measured window. */
  diskBytesPerEvent: number | null;
  /** edgebus only: average encoded (CBOR) size of the stored events, read from the store after the run. */
  encodedBytesPerEvent: number | null;
  unacked: number;
}

export interface LatencyRound {
  round: number;
  target: TargetName;
  /** Acknowledged publishes per second actually achieved at the requested rate. */
  msgsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  windowStalls: number;
  peakRssMiB: number;
}

/** Captures a target's CPU time (synchronously, at the phase change) and its store counters. */
class Readings {
  private cpu = 0;
  private machine = 0;
  private at = 0;
  private written = 0;
  private counters: Promise<StoreCounters | Error> | null = null;

  constructor(private readonly pid: number, private readonly metricsUrl: string | null) {}

  take(): void {
    this.cpu = cpuSeconds(this.pid);
    this.machine = machineBusySeconds();
    this.at = performance.now();
    if (this.metricsUrl !== null) this.written = diskWriteBytes(this.pid);
    // Settled into a value now so that an abandoned scrape never becomes an unhandled rejection.
    if (this.metricsUrl !== null) this.counters = scrapeStoreCounters(this.metricsUrl).catch((e: unknown) => e as Error);
  }

  coresSince(earlier: Readings): number {
    return (this.cpu - earlier.cpu) / ((this.at - earlier.at) / 1000);
  }

  machineCoresSince(earlier: Readings): number {
    return (this.machine - earlier.machine) / ((this.at - earlier.at) / 1000);
  }

  /** Events and group commits since `earlier`, and the bytes written to disk meanwhile. */
  async storeSince(earlier: Readings): Promise<{ eventsPerWrite: number; diskBytesPerEvent: number } | null> {
    if (this.counters === null || earlier.counters === null) return null;
    const [a, b] = await Promise.all([earlier.counters, this.counters]);
    if (a instanceof Error) throw a;
    if (b instanceof Error) throw b;
    const events = b.events - a.events;
    return {
      eventsPerWrite: events / Math.max(1, b.writes - a.writes),
      diskBytesPerEvent: (this.written - earlier.written) / Math.max(1, events),
    };
  }
}

export async function throughputRound(name: TargetName, round: number, shape: LoadShape, cpuProfileDir: string | null,
  durability: 'fsync' | 'write' = 'fsync'): Promise<ThroughputRound> {
  const target = await startTarget(name, { cpuProfileDir: name === 'edgebus' ? cpuProfileDir : null, durability, measureStoredSize: true });
  let r: ThroughputRound;
  try {
    const before = new Readings(target.pid, target.metricsUrl);
    const after = new Readings(target.pid, target.metricsUrl);
    const spec: LoadSpec = {
      port: target.brokerPort, connections: shape.connections, window: shape.window,
      warmupSeconds: shape.warmup, seconds: shape.seconds, rate: null, clientPrefix: `bench-${name}-r${round}`,
    };
    const result = await runLoad(spec, { onMeasuring: () => before.take(), onMeasured: () => after.take() });
    const store = await after.storeSince(before);
    r = {
      round, target: name,
      msgsPerSecond: result.msgsPerSecond,
      targetCores: after.coresSince(before),
      loadgenCores: result.loadgenCores,
      machineCores: after.machineCoresSince(before),
      peakRssMiB: target.peakRssMiB(),
      eventsPerWrite: store?.eventsPerWrite ?? null,
      diskBytesPerEvent: store?.diskBytesPerEvent ?? null,
      encodedBytesPerEvent: null,
      unacked: result.unacked,
    };
  } finally {
    await target.stop();
  }
  // Read once the daemon has stopped (LevelDB's lock) and before its data dir is removed.
  r.encodedBytesPerEvent = target.storedSize()?.bytesPerEvent ?? null;
  return r;
}

export async function latencyRound(name: TargetName, round: number, shape: LoadShape, rate: number,
  durability: 'fsync' | 'write' = 'fsync'): Promise<LatencyRound> {
  const target = await startTarget(name, { cpuProfileDir: null, durability });
  try {
    const result = await runLoad({
      port: target.brokerPort, connections: shape.connections, window: shape.window,
      warmupSeconds: shape.warmup, seconds: shape.seconds, rate, clientPrefix: `bench-lat-${name}-r${round}`,
    });
    return {
      round, target: name,
      msgsPerSecond: result.msgsPerSecond,
      p50Ms: result.latency.p50Ms, p99Ms: result.latency.p99Ms, maxMs: result.latency.maxMs,
      samples: result.latency.count, windowStalls: result.windowStalls,
      peakRssMiB: target.peakRssMiB(),
    };
  } finally {
    await target.stop();
  }
}
