// Aggregates kept up to date as events enter and leave a window, so a rule over a window of
// thousands of readings costs O(1) per reading instead of a pass over the window: running
// sums for count/sum/avg/stddev, monotonic deques for min/max, the numeric FIFO's ends for
// first/last/delta/rate, value counts for distinct.
//
// Windows evict their oldest event first, which is what the deques and the FIFO rely on. A
// late event inserted in the middle breaks that order: the accumulator is then rebuilt from
// the window's columns, once, on the next read.
import { fieldGetter, type FieldGetter } from './conditions.js';
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

/**
 * What a window keeps of each event, column by column: numbers in plain arrays, which V8
 * stores unboxed. A window of thousands of readings is then a few arrays, not thousands of
 * objects the garbage collector must copy until they die. Ids are kept for the newest
 * WINDOW_IDS events only, the ones an alert names.
 */
export class WindowColumns {
  readonly ts: number[] = [];
  readonly seqs: number[] = [];
  readonly ids: string[] = [];
  /** `metadata.correlationId` of the same events (kept, like ids, for the newest WINDOW_IDS only). */
  readonly corrs: (string | null)[] = [];
  /** Per field: its value when a finite number, else NaN. */
  readonly nums: number[][];
  /** Per field: its value as read, for `distinct` only (null for other fields). */
  readonly raws: (unknown[] | null)[];
  head = 0;

  constructor(readonly fields: readonly WindowField[]) {
    this.nums = fields.map(() => []);
    this.raws = fields.map((f) => (f.raw ? [] : null));
  }

  get size(): number {
    return this.ts.length - this.head;
  }
}

export interface WindowField {
  path: string;
  get: FieldGetter;
  /** Whether its values are kept as read (for `distinct`), besides as numbers. */
  raw: boolean;
}

const ENDS = new Set(['first', 'last', 'delta', 'rate']);

/** Everything the refs of one field need, kept incrementally. */
class FieldStats {
  n = 0;
  sum = 0;
  sumSq = 0;
  private readonly values: Fifo | null;
  private readonly times: Fifo | null;
  private readonly mins: Fifo | null;
  private readonly maxs: Fifo | null;
  private readonly counts: Map<string, number> | null;

  constructor(refs: readonly AggregateRef[]) {
    const ends = refs.some((r) => ENDS.has(r.fn));
    this.values = ends ? new Fifo() : null;
    this.times = ends ? new Fifo() : null;
    this.mins = refs.some((r) => r.fn === 'min') ? new Fifo() : null;
    this.maxs = refs.some((r) => r.fn === 'max') ? new Fifo() : null;
    this.counts = refs.some((r) => r.fn === 'distinct') ? new Map() : null;
  }

  /** `v`: the value if a finite number, else NaN; `raw`: as read (distinct only). */
  add(v: number, raw: unknown, t: number): void {
    if (this.counts !== null && raw !== undefined && raw !== null) {
      const k = distinctKey(raw);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
    if (v !== v) return;
    this.n++;
    this.sum += v;
    this.sumSq += v * v;
    if (this.values !== null) {
      this.values.push(v);
      this.times!.push(t);
    }
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
  drop(v: number, raw: unknown): void {
    if (this.counts !== null && raw !== undefined && raw !== null) {
      const k = distinctKey(raw);
      const c = (this.counts.get(k) ?? 1) - 1;
      if (c <= 0) this.counts.delete(k);
      else this.counts.set(k, c);
    }
    if (v !== v) return;
    this.n--;
    this.sum -= v;
    this.sumSq -= v * v;
    if (this.values !== null) {
      this.values.shift();
      this.times!.shift();
    }
    if (this.mins && this.mins.size > 0 && this.mins.front() === v) this.mins.shift();
    if (this.maxs && this.maxs.size > 0 && this.maxs.front() === v) this.maxs.shift();
  }

  clear(): void {
    this.n = 0;
    this.sum = 0;
    this.sumSq = 0;
    this.values?.clear();
    this.times?.clear();
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
      case 'first': return this.values!.front();
      case 'last': return this.values!.back();
      case 'delta': return this.values!.back() - this.values!.front();
      case 'rate': {
        if (this.n < 2) return null;
        const span = this.times!.back() - this.times!.front();
        return span > 0 ? (this.values!.back() - this.values!.front()) / (span / 1000) : null;
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
  /** The fields the refs read, in the order of the window's columns. */
  readonly fields: readonly WindowField[];
  private readonly stats: FieldStats[];
  /** Per ref (by key): its field's index, or -1 for count. */
  private readonly fieldIndex: Map<string, number>;
  /** A late event broke the oldest-first order: rebuilt from the columns on the next read. */
  private stale = false;

  constructor(private readonly refs: readonly AggregateRef[]) {
    const byField = new Map<string, AggregateRef[]>();
    for (const r of refs) {
      if (r.field === null || r.fn === 'count') continue;
      byField.set(r.field, [...(byField.get(r.field) ?? []), r]);
    }
    const paths = [...byField.keys()];
    this.fields = paths.map((path) => ({ path, get: fieldGetter(path), raw: byField.get(path)!.some((r) => r.fn === 'distinct') }));
    this.stats = paths.map((path) => new FieldStats(byField.get(path)!));
    this.fieldIndex = new Map(refs.map((r) => [r.key, r.fn === 'count' || r.field === null ? -1 : paths.indexOf(r.field)]));
  }

  /** Entry `i` of the columns came in; `atEnd`: after every other (the usual case). */
  add(c: WindowColumns, i: number, atEnd: boolean): void {
    if (!atEnd) this.stale = true;
    if (this.stale) return;
    const t = c.ts[i];
    for (let k = 0; k < this.stats.length; k++) this.stats[k].add(c.nums[k][i], c.raws[k]?.[i], t);
  }

  /** Entry `i`, the oldest, leaves. */
  drop(c: WindowColumns, i: number): void {
    if (this.stale) return;
    for (let k = 0; k < this.stats.length; k++) this.stats[k].drop(c.nums[k][i], c.raws[k]?.[i]);
  }

  clear(): void {
    this.stale = false;
    for (const s of this.stats) s.clear();
  }

  /** One aggregate's value, read without building the whole record. */
  value(r: AggregateRef, c: WindowColumns): number | null {
    if (this.stale) this.rebuild(c);
    if (r.fn === 'count') return c.size;
    const k = this.fieldIndex.get(r.key) ?? -1;
    return k < 0 ? null : this.stats[k].value(r);
  }

  values(c: WindowColumns): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const r of this.refs) out[r.key] = this.value(r, c);
    return out;
  }

  private rebuild(c: WindowColumns): void {
    this.clear();
    for (let i = c.head; i < c.ts.length; i++) this.add(c, i, true);
  }
}
