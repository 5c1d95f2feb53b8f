// Event-time windows of SPEC §5 (sliding, tumbling, count, session), one per rule and group.
// Every window keeps its events ordered by event time (ties in arrival order), so
// aggregates such as first/last/delta/rate see them oldest first even when a source's
// clock or the reorder buffer delivers a reading late.
import type { EdgeEvent } from '../events/types.js';
import { Accumulator, WindowColumns } from './accumulator.js';
import type { Trigger } from './trace.js';
import type { AggregateRef, WindowSpec, WindowState } from './types.js';

/**
 * Most events one window holds, whatever its spec: beyond it the oldest are dropped. A
 * flooding sensor on a 1 h sliding window must not exhaust a Pi's memory; aggregates over
 * the newest 10,000 readings are as good as over all of them.
 */
export const WINDOW_CAP = 10_000;

/** How many of a window's newest events it remembers the ids of: an alert names no more. */
export const WINDOW_IDS = 100;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Events as columns (see WindowColumns), ordered by time, cheap to drop from the front. */
class TimeBuffer {
  readonly cols: WindowColumns;

  constructor(private readonly acc: Accumulator) {
    this.cols = new WindowColumns(acc.fields);
  }

  get size(): number {
    return this.cols.size;
  }

  /** Only when size > 0. */
  oldestTime(): number {
    return this.cols.ts[this.cols.head];
  }

  insert(e: EdgeEvent, t: number): void {
    const c = this.cols;
    const n = c.ts.length;
    const { fields } = c;
    if (n === c.head || t >= c.ts[n - 1]) {
      c.ts.push(t);
      c.seqs.push(e.seq);
      c.ids.push(e.id);
      c.corrs.push(e.metadata.correlationId);
      for (let k = 0; k < fields.length; k++) {
        const v = fields[k].get(e);
        c.nums[k].push(typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
        c.raws[k]?.push(v);
      }
      this.forgetIds(n);
      this.acc.add(c, n, true);
      return;
    }
    // Late event: after every event with time <= t, so equal times keep arrival order.
    let lo = c.head;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    c.ts.splice(lo, 0, t);
    c.seqs.splice(lo, 0, e.seq);
    c.ids.splice(lo, 0, e.id);
    c.corrs.splice(lo, 0, e.metadata.correlationId);
    for (let k = 0; k < fields.length; k++) {
      const v = fields[k].get(e);
      c.nums[k].splice(lo, 0, typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
      c.raws[k]?.splice(lo, 0, v);
    }
    this.forgetIds(lo);
    this.acc.add(c, lo, false);
  }

  /** Only the newest WINDOW_IDS entries keep their ids (`at`: where one was just inserted). */
  private forgetIds(at: number): void {
    const { ids, corrs, head } = this.cols;
    const edge = ids.length - 1 - WINDOW_IDS;
    if (edge >= head) {
      ids[edge] = '';
      corrs[edge] = null;
    }
    if (at <= edge) {
      ids[at] = '';
      corrs[at] = null;
    }
  }

  dropOldest(): void {
    const c = this.cols;
    this.acc.drop(c, c.head);
    c.head++;
    // Compacting once half the arrays are dead keeps drops amortized O(1) and memory ≤ 2× live.
    if (c.head * 2 >= c.ts.length) {
      const dead = c.head;
      c.ts.splice(0, dead);
      c.seqs.splice(0, dead);
      c.ids.splice(0, dead);
      c.corrs.splice(0, dead);
      for (const col of c.nums) col.splice(0, dead);
      for (const col of c.raws) col?.splice(0, dead);
      c.head = 0;
    }
  }

  trimTo(max: number): void {
    while (this.size > max) this.dropOldest();
  }

  clear(): void {
    const c = this.cols;
    c.ts.length = 0;
    c.seqs.length = 0;
    c.ids.length = 0;
    c.corrs.length = 0;
    for (const col of c.nums) col.length = 0;
    for (const col of c.raws) if (col) col.length = 0;
    c.head = 0;
    this.acc.clear();
  }

  /** The ids kept, oldest first. */
  ids(): string[] {
    const { ids, head } = this.cols;
    const out: string[] = [];
    for (let i = Math.max(head, ids.length - WINDOW_IDS); i < ids.length; i++) out.push(ids[i]);
    return out;
  }

  /** The first of ids(), with its correlation. */
  trigger(): Trigger | null {
    const { ids, corrs, head } = this.cols;
    if (ids.length === head) return null;
    const i = Math.max(head, ids.length - WINDOW_IDS);
    return { id: ids[i], correlationId: corrs[i] };
  }
}

function check(ok: boolean, spec: WindowSpec): void {
  if (!ok) throw new RangeError(`invalid window ${JSON.stringify(spec)}: sizes must be positive (count: a positive integer)`);
}

const positive = (v: number): boolean => Number.isFinite(v) && v > 0;

/**
 * A window for one rule group, keeping the aggregates `refs` up to date. `cap` defaults to
 * WINDOW_CAP. Events whose time is not a finite number (an unparsable timestamp) are
 * ignored: they have no place in event time.
 */
export function createWindow(spec: WindowSpec, refs: readonly AggregateRef[] = [], cap: number = WINDOW_CAP): WindowState {
  check(Number.isInteger(cap) && cap > 0, spec);
  const acc = new Accumulator(refs);
  const buf = new TimeBuffer(acc);
  const common = {
    size: () => buf.size,
    ids: () => buf.ids(),
    trigger: () => buf.trigger(),
    value: (ref: AggregateRef) => acc.value(ref, buf.cols),
    values: () => acc.values(buf.cols),
  };
  const kind = ((): Pick<WindowState, 'add' | 'key'> => {
    switch (spec.kind) {
      case 'sliding': check(positive(spec.ms), spec); return sliding(buf, spec.ms, cap);
      case 'tumbling': check(positive(spec.ms), spec); return tumbling(buf, spec.ms, cap);
      case 'count': check(Number.isInteger(spec.n) && spec.n > 0, spec); return count(buf, Math.min(spec.n, cap));
      case 'session': check(positive(spec.gapMs), spec); return session(buf, spec.gapMs, cap);
    }
  })();
  return { add: kind.add, key: kind.key, ...common };
}

/**
 * Holds events with time > latest − ms, latest being the newest time seen. A late event
 * still inside that span is inserted in time order; one already outside it is dropped.
 * key(): the oldest event's time (the window's current start), '' when empty.
 */
function sliding(buf: TimeBuffer, ms: number, cap: number): Pick<WindowState, 'add' | 'key'> {
  let latest = -Infinity;
  return {
    add(e, t) {
      if (!Number.isFinite(t) || t <= latest - ms) return;
      if (t > latest) latest = t;
      buf.insert(e, t);
      while (buf.size > 0 && buf.oldestTime() <= latest - ms) buf.dropOldest();
      buf.trimTo(cap);
    },
    key: () => (buf.size > 0 ? iso(buf.oldestTime()) : ''),
  };
}

/**
 * Holds the events of the current bucket floor(t / ms). An event in a newer bucket closes
 * the current one and starts the next; an event for an older bucket is dropped, since that
 * bucket has already been judged. key(): the bucket's start time, '' before any event.
 */
function tumbling(buf: TimeBuffer, ms: number, cap: number): Pick<WindowState, 'add' | 'key'> {
  let bucket: number | null = null;
  return {
    add(e, t) {
      if (!Number.isFinite(t)) return;
      const b = Math.floor(t / ms);
      if (bucket === null || b > bucket) {
        buf.clear();
        bucket = b;
      } else if (b < bucket) {
        return;
      }
      buf.insert(e, t);
      buf.trimTo(cap);
    },
    key: () => (bucket === null ? '' : iso(bucket * ms)),
  };
}

/**
 * Holds the n events with the newest times (a late event older than all n is dropped at
 * once). key(): the oldest held event's time, '' when empty.
 */
function count(buf: TimeBuffer, n: number): Pick<WindowState, 'add' | 'key'> {
  return {
    add(e, t) {
      if (!Number.isFinite(t)) return;
      buf.insert(e, t);
      buf.trimTo(n);
    },
    key: () => (buf.size > 0 ? iso(buf.oldestTime()) : ''),
  };
}

/**
 * Holds one session: events whose times are within gapMs of their neighbour. An event more
 * than gapMs after the session's newest starts a new session. A late event within gapMs
 * before the session's start joins it (and becomes its start); an earlier one belongs to a
 * session already closed and is dropped. key(): the session's start time — kept even when
 * the cap drops the session's first events, so an alert's id does not drift.
 */
function session(buf: TimeBuffer, gapMs: number, cap: number): Pick<WindowState, 'add' | 'key'> {
  let start: number | null = null;
  let end = -Infinity;
  return {
    add(e, t) {
      if (!Number.isFinite(t)) return;
      if (start === null || t - end > gapMs) {
        buf.clear();
        start = t;
        end = t;
      } else if (t < start) {
        if (start - t > gapMs) return;
        start = t;
      }
      if (t > end) end = t;
      buf.insert(e, t);
      buf.trimTo(cap);
    },
    key: () => (start === null ? '' : iso(start)),
  };
}
