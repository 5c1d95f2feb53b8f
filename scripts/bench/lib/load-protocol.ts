// What the measuring process and the load-generator child say to each other over IPC.

export interface LoadSpec {
  port: number;
  connections: number;
  /** Unacknowledged publishes allowed per connection. */
  window: number;
  warmupSeconds: number;
  seconds: number;
  /** Total publishes per second across all connections; null = as fast as the window allows. */
  rate: number | null;
  /** Client ids and device names are unique per run so sessions never collide. */
  clientPrefix: string;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  /** PUBACKs received inside the measured window. */
  acked: number;
  measuredSeconds: number;
  msgsPerSecond: number;
  /** Publish→PUBACK latency of messages sent inside the measured window. */
  latency: LatencySummary;
  /** Times a paced message waited because its connection's window was full. */
  windowStalls: number;
  /** Publishes still unacknowledged when the drain deadline passed. */
  unacked: number;
  /** CPU the load generator itself used, in cores, over warm-up plus measurement. */
  loadgenCores: number;
}

export type LoadMessage =
  | { type: 'connected' }
  | { type: 'measuring' }
  | { type: 'measured' }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; message: string };
