// Readings as Sparkplug metrics: a sensor keeps one datatype for a session (its birth's), so
// the value's JSON type picks it once. Numbers are Double whatever they hold: a sensor that
// reads 20 then 20.5 must not change type between DBIRTH and DDATA.
import type { JsonValue } from '../../events/types.js';
import { DataType, type Metric } from './payload.js';

/** What a host learned of one sensor from the last DBIRTH, and its last value since. */
export interface KnownMetric {
  datatype: number;
  value: JsonValue;
  unit: string | null;
  /** ms */
  timestamp: number;
}

/** The datatype a value is sent as; null leaves it to what the sensor had. */
export function datatypeOf(value: JsonValue): number | null {
  if (value === null) return null;
  if (typeof value === 'number') return DataType.Double;
  if (typeof value === 'boolean') return DataType.Boolean;
  // Strings as they are; objects and arrays as their JSON text.
  return DataType.String;
}

/** One metric; `withUnit` adds the engineering unit as the `engUnit` property (births). */
export function metricOf(name: string, m: KnownMetric, historical: boolean, withUnit: boolean): Metric {
  const out: Metric = { name, timestamp: m.timestamp, datatype: m.datatype };
  if (historical) out.isHistorical = true;
  if (withUnit && m.unit !== null) out.properties = { keys: ['engUnit'], values: [{ type: DataType.String, stringValue: m.unit }] };
  const v = m.value;
  if (v === null) {
    out.isNull = true;
  } else if (m.datatype === DataType.Double) {
    if (typeof v === 'number') out.doubleValue = v;
    else out.isNull = true;
  } else if (m.datatype === DataType.Boolean) {
    if (typeof v === 'boolean') out.booleanValue = v;
    else out.isNull = true;
  } else {
    out.stringValue = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
