// The copies rule windows keep of readings (see slimmer).
import type { EdgeEvent } from '../events/types.js';
import { compileField } from './conditions.js';
import type { CompiledRule } from './types.js';

/** The event paths `fieldGetter` resolves through the sensor (see conditions.ts). */
const SENSOR_FIELDS = new Set(['value', 'unit', 'accuracy']);

const readValue = compileField('value');
const readUnit = compileField('unit');
const readAccuracy = compileField('accuracy');
let slimmedFrom: EdgeEvent | null = null;
let slimmed: EdgeEvent | null = null;

/**
 * The usual case: rules that aggregate the sensor's value. One copy per reading serves
 * every such rule: one object, which is its own `sensor` so the same paths read it. It
 * holds nothing of the reading itself, which can then die young (a window that kept the
 * reading's objects would have V8 allocate every reading's objects in the old generation).
 */
function sensorSlim(e: EdgeEvent): EdgeEvent {
  if (slimmedFrom !== e) {
    slimmedFrom = e;
    const copy: Record<string, unknown> = {
      id: e.id, seq: e.seq, timestamp: e.timestamp, value: readValue(e), unit: readUnit(e), accuracy: readAccuracy(e), sensor: null,
    };
    copy.sensor = copy;
    slimmed = copy as unknown as EdgeEvent;
  }
  return slimmed!;
}

/**
 * What a rule's window keeps of a reading: a copy with the id, seq and timestamp and the
 * values its aggregates read, placed where the same paths find them — not the whole event
 * with its payload and metadata, since a window may hold thousands of readings per group.
 */
export function slimmer(rule: CompiledRule): (e: EdgeEvent) => EdgeEvent {
  const paths = [...new Set(rule.aggregates.map((a) => a.field).filter((f): f is string => f !== null))];
  if (paths.every((p) => SENSOR_FIELDS.has(p))) return sensorSlim;
  const fields = paths.map((path) => {
    const parts = path.split('.');
    return { get: compileField(path), at: SENSOR_FIELDS.has(parts[0]) ? ['sensor', ...parts] : parts };
  });
  return (e) => {
    const slim: Record<string, unknown> = { id: e.id, seq: e.seq, timestamp: e.timestamp };
    for (const f of fields) {
      let node = slim;
      for (let i = 0; i < f.at.length - 1; i++) node = (node[f.at[i]] ??= {}) as Record<string, unknown>;
      node[f.at[f.at.length - 1]] = f.get(e);
    }
    return slim as unknown as EdgeEvent;
  };
}
