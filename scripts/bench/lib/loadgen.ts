// The load generator, run as its own child process so its CPU is not the measuring
// process's. It takes a LoadSpec as argv[2], reports over IPC, and exits when done.
import { performance } from 'node:perf_hooks';
import { Connection, type ConnectionHooks } from './connection.js';
import type { LoadMessage, LoadResult, LoadSpec } from './load-protocol.js';
import { percentile, SampleBuffer } from './stats.js';

const DRAIN_TIMEOUT_MS = 5000;
const PACE_INTERVAL_MS = 1;

type Phase = 'warmup' | 'measure' | 'drain';

function report(msg: LoadMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send) process.send(msg, () => resolve());
    else {
      process.stdout.write(JSON.stringify(msg) + '\n');
      resolve();
    }
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class LoadRun {
  private phase: Phase = 'warmup';
  private measureStart = Number.POSITIVE_INFINITY;
  private measureEnd = Number.POSITIVE_INFINITY;
  private acked = 0;
  private stalls = 0;
  private readonly latencies = new SampleBuffer();
  private readonly conns: Connection[];
  private lost: Error | null = null;

  constructor(private readonly spec: LoadSpec) {
    const closedLoop = spec.rate === null;
    // Refill in batches of a quarter window: a broker that acks one message per segment
    // (mosquitto) would otherwise cost the load generator a write syscall per message.
    const refillBatch = Math.ceil(spec.window / 4);
    const hooks: ConnectionHooks = {
      onAck: (sentAt, now) => {
        if (this.phase === 'measure') this.acked++;
        if (sentAt >= this.measureStart && sentAt < this.measureEnd) this.latencies.push(now - sentAt);
      },
      // Closed loop: keep between 3/4 of the window and all of it in flight.
      onWindowFree: closedLoop ? (conn) => void (this.phase !== 'drain' && conn.free >= refillBatch && conn.send(conn.free)) : () => {},
      onLost: (err) => (this.lost ??= err),
    };
    this.conns = Array.from({ length: spec.connections }, (_, i) =>
      new Connection(spec.port, `${spec.clientPrefix}-${i}`, `dev-${i}`, spec.window, hooks));
  }

  async run(): Promise<LoadResult> {
    const { spec } = this;
    await Promise.all(this.conns.map((c) => c.open()));
    await report({ type: 'connected' });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const pacer = spec.rate === null ? null : this.pace(spec.rate);
    if (pacer === null) for (const c of this.conns) c.send(c.free);
    await sleep(spec.warmupSeconds * 1000);
    this.measureStart = performance.now();
    this.phase = 'measure';
    await report({ type: 'measuring' });
    await sleep(spec.seconds * 1000);
    this.measureEnd = performance.now();
    this.phase = 'drain';
    if (pacer !== null) clearInterval(pacer);
    await report({ type: 'measured' });
    const cpu = process.cpuUsage(cpu0);
    const loadgenCores = (cpu.user + cpu.system) / 1000 / (this.measureEnd - t0);
    const drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (this.inFlight() > 0 && performance.now() < drainDeadline && this.lost === null) await sleep(10);
    if (this.lost !== null) throw this.lost;
    const unacked = this.inFlight();
    await Promise.all(this.conns.map((c) => c.close()));
    const sorted = this.latencies.sorted();
    const measuredSeconds = (this.measureEnd - this.measureStart) / 1000;
    return {
      acked: this.acked,
      measuredSeconds,
      msgsPerSecond: this.acked / measuredSeconds,
      latency: { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.length ? sorted[sorted.length - 1] : Number.NaN },
      windowStalls: this.stalls,
      unacked,
      loadgenCores,
    };
  }

  /**
   * Open loop: messages are due at a fixed rate whatever the broker does, dealt round-robin
   * to the connections. A message whose connection has a full window is counted and skipped,
   * so a slow broker shows up as stalls rather than as a silently lower rate.
   */
  private pace(rate: number): NodeJS.Timeout {
    const start = performance.now();
    const wants = new Int32Array(this.conns.length);
    let issued = 0;
    let cursor = 0;
    return setInterval(() => {
      if (this.lost !== null) return;
      const due = Math.floor(((performance.now() - start) * rate) / 1000) - issued;
      if (due <= 0) return;
      issued += due;
      for (let i = 0; i < due; i++) {
        wants[cursor]++;
        cursor = cursor + 1 === wants.length ? 0 : cursor + 1;
      }
      for (let c = 0; c < wants.length; c++) {
        if (wants[c] === 0) continue;
        this.stalls += wants[c] - this.conns[c].send(wants[c]);
        wants[c] = 0;
      }
    }, PACE_INTERVAL_MS);
  }

  private inFlight(): number {
    let n = 0;
    for (const c of this.conns) n += c.inFlight;
    return n;
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  try {
    const result = await new LoadRun(spec).run();
    await report({ type: 'result', result });
  } catch (err) {
    await report({ type: 'error', message: (err as Error).message });
    process.exitCode = 1;
  }
  process.disconnect?.();
}

await main();
