// Aggregates kept up to date as events enter and leave a window, so a rule over a window of
// thousands of readings costs O(1) per reading instead of a pass over the window: running
// sums for count/sum/avg/stddev, monotonic deques for min/max, the numeric FIFO's ends for
// first/last/delta/rate, value counts for distinct.
//
// Windows evict their oldest event first, which is what the deques and the FIFO rely on. A
// late event inserted in the middle breaks that order: the accumulator is then rebuilt from
// the window, once, on the next read.
import type { EdgeEvent } from '../events/types.js';
import { fieldGetter } from './conditions.js';
import type { AggregateRef } from './types.js';

/** A FIFO of numbers with O(1) shift, compacted when half of it is dead. */
class Fifo {
  private items: number[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }
  front(): number {
    return this.items[this.head];
  }
  back(): number {
    return this.items[this.items.length - 1];
  }
  push(v: number): void {
    this.items.push(v);
  }
  popBack(): void {
    this.items.pop();
  }
  shift(): void {
    this.head++;
    if (this.head * 2 >= this.items.length && this.head > 32) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** Everything the refs of one field need, kept incrementally. */
class FieldStats {
  private readonly get: (e: EdgeEvent) => unknown;
  n = 0;
  sum = 0;
  sumSq = 0;
  readonly values = new Fifo();
  readonly times = new Fifo();
  private readonly mins: Fifo | null;
  private readonly maxs: Fifo | null;
  private readonly counts: Map<string, number> | null;

  constructor(readonly field: string, refs: readonly AggregateRef[]) {
    this.get = fieldGetter(field);
    this.mins = refs.some((r) => r.fn === 'min') ? new Fifo() : null;
    this.maxs = refs.some((r) => r.fn === 'max') ? new Fifo() : null;
    this.counts = refs.some((r) => r.fn === 'distinct') ? new Map() : null;
  }

  add(e: EdgeEvent, t: number): void {
    const v = this.get(e);
    if (this.counts !== null && v !== undefined && v !== null) {
      const k = distinctKey(v);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    this.n++;
    this.sum += v;
    this.sumSq += v * v;
    this.values.push(v);
    this.times.push(t);
    if (this.mins) {
      while (this.mins.size > 0 && this.mins.back() > v) this.mins.popBack();
      this.mins.push(v);
    }
    if (this.maxs) {
      while (this.maxs.size > 0 && this.maxs.back() < v) this.maxs.popBack();
      this.maxs.push(v);
    }
  }

  /** The oldest event leaves. */
  drop(e: EdgeEvent): void {
    const v = this.get(e);
    if (this.counts !== null && v !== undefined && v !== null) {
      const k = distinctKey(v);
      const c = (this.counts.get(k) ?? 1) - 1;
      if (c <= 0) this.counts.delete(k);
      else this.counts.set(k, c);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    this.n--;
    this.sum -= v;
    this.sumSq -= v * v;
    this.values.shift();
    this.times.shift();
    if (this.mins && this.mins.size > 0 && this.mins.front() === v) this.mins.shift();
    if (this.maxs && this.maxs.size > 0 && this.maxs.front() === v) this.maxs.shift();
  }

  clear(): void {
    this.n = 0;
    this.sum = 0;
    this.sumSq = 0;
    this.values.clear();
    this.times.clear();
    this.mins?.clear();
    this.maxs?.clear();
    this.counts?.clear();
  }

  value(ref: AggregateRef): number | null {
    if (ref.fn === 'distinct') return this.counts?.size ?? 0;
    if (this.n === 0) return null;
    switch (ref.fn) {
      case 'sum': return this.sum;
      case 'avg': return this.sum / this.n;
      case 'min': return this.mins!.front();
      case 'max': return this.maxs!.front();
      case 'stddev': return Math.sqrt(Math.max(0, this.sumSq / this.n - (this.sum / this.n) ** 2));
      case 'first': return this.values.front();
      case 'last': return this.values.back();
      case 'delta': return this.values.back() - this.values.front();
      case 'rate': {
        if (this.n < 2) return null;
        const span = this.times.back() - this.times.front();
        return span > 0 ? (this.values.back() - this.values.front()) / (span / 1000) : null;
      }
      default: return null;
    }
  }
}

/** Same identity as aggregates.ts' distinct: scalars by type and value, objects by JSON. */
function distinctKey(v: unknown): string {
  return typeof v === 'object' ? 'j' + JSON.stringify(v) : typeof v + ':' + String(v);
}

export class Accumulator {
  private count = 0;
  private readonly fields: FieldStats[];
  private readonly fieldOf: Map<string, FieldStats>;
  /** A late event broke the oldest-first order: rebuilt from the window on the next read. */
  private stale = false;

  constructor(private readonly refs: readonly AggregateRef[], private readonly timeOf: (e: EdgeEvent) => number) {
    const byField = new Map<string, AggregateRef[]>();
    for (const r of refs) {
      if (r.field === null || r.fn === 'count') continue;
      byField.set(r.field, [...(byField.get(r.field) ?? []), r]);
    }
    this.fields = [...byField].map(([field, list]) => new FieldStats(field, list));
    this.fieldOf = new Map(this.fields.map((f) => [f.field, f]));
  }

  /** `atEnd`: the event went after every other (the usual case); false for a late one. */
  add(e: EdgeEvent, t: number, atEnd: boolean): void {
    this.count++;
    if (!atEnd) this.stale = true;
    if (this.stale) return;
    for (const f of this.fields) f.add(e, t);
  }

  /** The window's oldest event left. */
  drop(e: EdgeEvent): void {
    this.count--;
    if (this.stale) return;
    for (const f of this.fields) f.drop(e);
  }

  clear(): void {
    this.count = 0;
    this.stale = false;
    for (const f of this.fields) f.clear();
  }

  /** One aggregate's value, read without building the whole record. */
  value(r: AggregateRef, events: () => readonly EdgeEvent[]): number | null {
    if (this.stale) this.rebuild(events());
    if (r.fn === 'count') return this.count;
    if (r.field === null) return null;
    return this.fieldOf.get(r.field)!.value(r);
  }

  /** `value` bound to the window, for the rule's `having` tests. */
  reader(events: () => readonly EdgeEvent[]): (r: AggregateRef) => number | null {
    return (r) => this.value(r, events);
  }

  values(events: () => readonly EdgeEvent[]): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const r of this.refs) out[r.key] = this.value(r, events);
    return out;
  }

  private rebuild(all: readonly EdgeEvent[]): void {
    this.clear();
    for (const e of all) this.add(e, this.timeOf(e), true);
  }
}
