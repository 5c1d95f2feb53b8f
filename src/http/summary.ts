// What `status` and the dashboard summarise of the traffic since the start, from the bus:
// events by type and errors (last minute and total), latency percentiles (publish → PUBACK,
// reading → alert, upstream publish → PUBACK) and the table of sensors. Every figure is kept
// in a fixed amount of memory, and a commit group costs one pass over its events.
import { performance } from 'node:perf_hooks';
import { EVENT_TYPES, type EdgeEvent, type EventType } from '../events/types.js';
import type { EventBus } from '../pipeline/bus.js';
import { RecentLatency, type LatencySummary } from './latency-histogram.js';
import { MinuteCounter } from './minute-counter.js';
import { ReadingAlertLatency } from './reading-alert.js';
import { SensorTable, type SensorTableSnapshot } from './sensor-table.js';

export interface Counted {
  lastMinute: number;
  total: number;
}

export interface LatencyFigures {
  lastMinute: LatencySummary;
  sinceStart: LatencySummary;
}

export interface SummarySnapshot {
  events: { byType: Record<EventType, Counted> };
  errors: { perMinute: number; rejected: Counted; storeErrors: Counted };
  latency: {
    /** Submission → acknowledgement (the PUBACK for an MQTT publish), each counted with its commit group's wait. */
    ack: LatencyFigures;
    /** A reading's commit → the commit of the alert it caused. */
    readingToAlert: LatencyFigures;
    /** An upstream batch's publish → its PUBACK. */
    forward: LatencyFigures;
  };
  sensors: SensorTableSnapshot;
}

export interface SummaryOptions {
  bus: EventBus;
  /** The gateway clock, ms: which minute a count falls in. */
  now: () => number;
  /** A monotonic clock, ms, for the reading → alert interval; default performance.now. */
  monotonic?: () => number;
  /** Sensors kept at most (default MAX_SENSORS). */
  sensorLimit?: number;
}

export class Summary {
  private readonly byType: MinuteCounter[];
  private readonly rejected: MinuteCounter;
  private readonly storeErrors: MinuteCounter;
  private readonly ack: RecentLatency;
  private readonly readingToAlert: RecentLatency;
  private readonly forward: RecentLatency;
  private readonly alerts: ReadingAlertLatency;
  private readonly sensors: SensorTable;
  private readonly monotonic: () => number;

  constructor(opts: SummaryOptions, owner: string) {
    const { bus, now } = opts;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.byType = EVENT_TYPES.map(() => new MinuteCounter(now));
    this.rejected = new MinuteCounter(now);
    this.storeErrors = new MinuteCounter(now);
    this.ack = new RecentLatency(now);
    this.readingToAlert = new RecentLatency(now);
    this.forward = new RecentLatency(now);
    this.alerts = new ReadingAlertLatency((s) => this.readingToAlert.observe(s));
    this.sensors = new SensorTable(opts.sensorLimit);
    bus.on(owner, 'appended', (events) => this.appended(events));
    bus.on(owner, 'committed', (c) => this.ack.observe(c.ackSeconds, c.submissions));
    bus.on(owner, 'rejected', () => this.rejected.add());
    bus.on(owner, 'storeError', () => this.storeErrors.add());
    bus.on(owner, 'batchAcknowledged', (b) => this.forward.observe(b.seconds));
  }

  private appended(events: readonly EdgeEvent[]): void {
    // Counted per run of one type, not per event: a group is mostly readings.
    let type = events[0].type;
    let n = 0;
    for (let i = 0; i < events.length; i++) {
      if (events[i].type !== type) {
        this.countType(type, n);
        type = events[i].type;
        n = 0;
      }
      n++;
    }
    this.countType(type, n);
    this.alerts.addEvents(events, this.monotonic());
    this.sensors.addEvents(events);
  }

  private countType(type: EventType, n: number): void {
    const i = EVENT_TYPES.indexOf(type);
    if (i >= 0) this.byType[i].add(n);
  }

  snapshot(): SummarySnapshot {
    const counted = (c: MinuteCounter): Counted => ({ lastMinute: c.inWindow(), total: c.total });
    const byType = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, counted(this.byType[i])])) as Record<EventType, Counted>;
    const rejected = counted(this.rejected);
    const storeErrors = counted(this.storeErrors);
    return {
      events: { byType },
      errors: { perMinute: rejected.lastMinute + storeErrors.lastMinute, rejected, storeErrors },
      latency: { ack: this.ack.summary(), readingToAlert: this.readingToAlert.summary(), forward: this.forward.summary() },
      sensors: this.sensors.snapshot(),
    };
  }
}
