// Every device and sensor whose readings reached the log — over MQTT or from a serial device
// — with its last value, unit and time and the recent values for a sparkline: what the
// dashboard's sensor table and `status` show. Bounded: at most MAX_SENSORS sensors and
// SPARK_POINTS values each. A reading costs two map lookups and a store into a ring; nothing
// is allocated for a sensor already known. A full table makes room by dropping the eighth of
// its sensors seen least recently in one scan, not one per new sensor: a site with more
// sensors than the bound, read round the table, would otherwise scan it at every reading.
import type { EdgeEvent, JsonValue } from '../events/types.js';

export const MAX_SENSORS = 256;
export const SPARK_POINTS = 30;
/** A text value is shown cut to this many characters: a long one is not kept whole per sensor. */
const MAX_TEXT = 64;

export interface SensorRow {
  device: string;
  sensor: string;
  /** The last value: a number, a (short) string, a boolean, or null. */
  value: number | string | boolean | null;
  unit: string | null;
  /** The last reading's `timestamp`. */
  time: string;
  /** Readings seen since the start (or since the sensor came back after an eviction). */
  readings: number;
  /** The last values, oldest first; null where a value was not a number. */
  spark: (number | null)[];
}

export interface SensorTableSnapshot {
  limit: number;
  /** Sensors dropped to make room since the start. */
  evicted: number;
  /** By device, then sensor. */
  rows: SensorRow[];
}

interface Entry {
  readonly device: string;
  readonly sensor: string;
  value: number | string | boolean | null;
  unit: string | null;
  time: string;
  readings: number;
  /** When it was last seen, as a count of readings: the smallest is evicted first. */
  seen: number;
  readonly spark: Float64Array;
  /** Where the next value goes, and how many of the ring hold one. */
  next: number;
  filled: number;
}

export class SensorTable {
  private readonly byDevice = new Map<string, Map<string, Entry>>();
  private size = 0;
  private tick = 0;
  private evicted = 0;

  constructor(private readonly limit = MAX_SENSORS) {}

  /** The readings among one commit group's events (in log order). */
  addEvents(events: readonly EdgeEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.type === 'DeviceData' && e.sensor !== undefined) this.reading(e.device?.id ?? e.source, e.sensor.type, e.sensor.value, e.sensor.unit, e.sensor.timestamp);
    }
  }

  reading(device: string, sensor: string, value: JsonValue, unit: string | null, time: string): void {
    let sensors = this.byDevice.get(device);
    let entry = sensors?.get(sensor);
    if (entry === undefined) {
      if (this.size >= this.limit) {
        this.evictStale();
        sensors = this.byDevice.get(device);
      }
      if (sensors === undefined) this.byDevice.set(device, (sensors = new Map()));
      entry = { device, sensor, value: null, unit, time, readings: 0, seen: 0, spark: new Float64Array(SPARK_POINTS), next: 0, filled: 0 };
      sensors.set(sensor, entry);
      this.size++;
    }
    entry.value = shown(value);
    entry.unit = unit;
    entry.time = time;
    entry.readings++;
    entry.seen = ++this.tick;
    entry.spark[entry.next] = typeof value === 'number' ? value : Number.NaN;
    entry.next = (entry.next + 1) % SPARK_POINTS;
    if (entry.filled < SPARK_POINTS) entry.filled++;
  }

  /** Runs when a new sensor arrives on a full table: one scan drops the least recently seen eighth. */
  private evictStale(): void {
    const all: Entry[] = [];
    for (const sensors of this.byDevice.values()) for (const e of sensors.values()) all.push(e);
    all.sort((a, b) => a.seen - b.seen);
    const drop = Math.min(all.length, Math.max(1, this.limit >> 3));
    for (let i = 0; i < drop; i++) {
      const e = all[i];
      const sensors = this.byDevice.get(e.device)!;
      sensors.delete(e.sensor);
      if (sensors.size === 0) this.byDevice.delete(e.device);
    }
    this.size -= drop;
    this.evicted += drop;
  }

  snapshot(): SensorTableSnapshot {
    const rows: SensorRow[] = [];
    for (const sensors of this.byDevice.values()) {
      for (const e of sensors.values()) {
        const spark: (number | null)[] = [];
        for (let k = 0; k < e.filled; k++) {
          const v = e.spark[(e.next - e.filled + k + SPARK_POINTS) % SPARK_POINTS];
          spark.push(Number.isNaN(v) ? null : v);
        }
        rows.push({ device: e.device, sensor: e.sensor, value: e.value, unit: e.unit, time: e.time, readings: e.readings, spark });
      }
    }
    rows.sort((a, b) => compare(a.device, b.device) || compare(a.sensor, b.sensor));
    return { limit: this.limit, evicted: this.evicted, rows };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A reading's value as the table keeps it: objects and arrays (not readings today) as JSON text; long text cut. */
function shown(v: JsonValue): number | string | boolean | null {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  // A copy, not a slice: a slice of a long string can keep all of it alive.
  return text.length > MAX_TEXT ? Buffer.from(text.slice(0, MAX_TEXT)).toString() + '…' : text;
}
