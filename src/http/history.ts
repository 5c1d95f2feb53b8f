// The dashboard's recent past (SPEC §7, `GET /api/history`): a sample every 10 s of the
// ingest rate, the upstream backlog and link state and the store size, kept for an hour in
// a fixed ring, plus the last alerts. Memory is bounded whatever the daemon's uptime.
import type { EventBus, StoredAlert } from '../pipeline/bus.js';

export const HISTORY_INTERVAL_MS = 10_000;
export const HISTORY_SAMPLES = 360;
export const HISTORY_ALERTS = 50;

/** What the daemon reports at each sample. `upstreamConnected` is null when store-only. */
export interface HistoryFigures {
  backlog: number;
  upstreamConnected: boolean | null;
  storeBytes: number;
}

export interface HistorySample extends HistoryFigures {
  /** epoch milliseconds */
  t: number;
  /** events committed per second since the previous sample */
  ingestRate: number;
}

export type HistoryAlert = StoredAlert;

export interface HistorySnapshot {
  intervalMs: number;
  /** samples kept at most (an hour at the default interval) */
  capacity: number;
  samples: HistorySample[];
  /** newest first */
  alerts: HistoryAlert[];
}

export interface HistoryOptions {
  bus: EventBus;
  sample: () => Promise<HistoryFigures> | HistoryFigures;
  intervalMs?: number;
  /** The gateway clock, for rates; default: the wall clock. */
  now?: () => number;
  /** The wall clock, for the samples' times; default: `now`. */
  wall?: () => number;
}

const OWNER = 'history';

export class History {
  private readonly ring: (HistorySample | undefined)[] = new Array(HISTORY_SAMPLES);
  private next = 0;
  private count = 0;
  private readonly alerts: HistoryAlert[] = [];
  private committed = 0;
  private lastAt: number;
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly wall: () => number;

  constructor(private readonly opts: HistoryOptions) {
    this.intervalMs = opts.intervalMs ?? HISTORY_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
    this.wall = opts.wall ?? this.now;
    this.lastAt = this.now();
    opts.bus.on(OWNER, 'committed', (c) => (this.committed += c.events));
    opts.bus.on(OWNER, 'alert', (a) => {
      this.alerts.unshift({ ...a });
      if (this.alerts.length > HISTORY_ALERTS) this.alerts.length = HISTORY_ALERTS;
    });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.opts.bus.removeOwner(OWNER);
  }

  /** Takes one sample now (the timer calls this; tests may too). */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const figures = await this.opts.sample();
      const t = this.now();
      const seconds = Math.max((t - this.lastAt) / 1000, 0.001);
      const ingestRate = Math.round((this.committed / seconds) * 100) / 100;
      this.committed = 0;
      this.lastAt = t;
      this.ring[this.next] = { t: this.wall(), ingestRate, ...figures };
      this.next = (this.next + 1) % HISTORY_SAMPLES;
      this.count = Math.min(this.count + 1, HISTORY_SAMPLES);
    } catch {
      // A sample that cannot be taken (store closing) is skipped; the next one covers the gap.
    } finally {
      this.sampling = false;
    }
  }

  snapshot(): HistorySnapshot {
    const samples: HistorySample[] = [];
    const first = (this.next - this.count + HISTORY_SAMPLES) % HISTORY_SAMPLES;
    for (let i = 0; i < this.count; i++) samples.push({ ...this.ring[(first + i) % HISTORY_SAMPLES]! });
    return { intervalMs: this.intervalMs, capacity: HISTORY_SAMPLES, samples, alerts: this.alerts.map((a) => ({ ...a })) };
  }
}

/**
 * The sample interval: `EDGEBUS_HISTORY_MS` overrides the 10 s default, for tests and
 * demos only (it is not a configuration setting). Values under 50 ms are ignored.
 */
export function historyIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.EDGEBUS_HISTORY_MS);
  return Number.isFinite(ms) && ms >= 50 ? ms : HISTORY_INTERVAL_MS;
}
