// Event-time windows of SPEC §5 (sliding, tumbling, count, session), one per rule and group.
// Every window keeps its events ordered by event time (ties in arrival order), so
// aggregates such as first/last/delta/rate see them oldest first even when a source's
// clock or the reorder buffer delivers a reading late.
import type { EdgeEvent } from '../events/types.js';
import type { WindowSpec, WindowState } from './types.js';

/**
 * Most events one window holds, whatever its spec: beyond it the oldest are dropped. A
 * flooding sensor on a 1 h sliding window must not exhaust a Pi's memory; aggregates over
 * the newest 10,000 readings are as good as over all of them.
 */
export const WINDOW_CAP = 10_000;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Told of every event that enters or leaves a window: incremental aggregates listen. */
export interface WindowListener {
  /** `atEnd`: the event went after every other; false for a late one inserted before some. */
  add(e: EdgeEvent, t: number, atEnd: boolean): void;
  /** The oldest event left. */
  drop(e: EdgeEvent): void;
  clear(): void;
}

/** Events with their times, ordered by time, cheap to drop from the front. */
class TimeBuffer {
  private evs: EdgeEvent[] = [];
  private ts: number[] = [];
  private head = 0;
  private snapshot: readonly EdgeEvent[] | null = null;

  constructor(private readonly listener: WindowListener | null) {}

  get size(): number {
    return this.ts.length - this.head;
  }

  /** Only when size > 0. */
  oldestTime(): number {
    return this.ts[this.head];
  }

  insert(e: EdgeEvent, t: number): void {
    this.snapshot = null;
    const n = this.ts.length;
    if (n === this.head || t >= this.ts[n - 1]) {
      this.evs.push(e);
      this.ts.push(t);
      this.listener?.add(e, t, true);
      return;
    }
    // Late event: after every event with time <= t, so equal times keep arrival order.
    let lo = this.head;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    this.evs.splice(lo, 0, e);
    this.ts.splice(lo, 0, t);
    this.listener?.add(e, t, false);
  }

  dropOldest(): void {
    this.snapshot = null;
    this.listener?.drop(this.evs[this.head]);
    this.head++;
    // Compacting once half the array is dead keeps drops amortized O(1) and memory ≤ 2× live.
    if (this.head * 2 >= this.ts.length) {
      this.evs.splice(0, this.head);
      this.ts.splice(0, this.head);
      this.head = 0;
    }
  }

  trimTo(max: number): void {
    while (this.size > max) this.dropOldest();
  }

  clear(): void {
    this.evs = [];
    this.ts = [];
    this.head = 0;
    this.snapshot = null;
    this.listener?.clear();
  }

  /** A copy, reused until the next change: callers may keep it (alert payloads) safely. */
  events(): readonly EdgeEvent[] {
    return (this.snapshot ??= this.evs.slice(this.head));
  }
}

function check(ok: boolean, spec: WindowSpec): void {
  if (!ok) throw new RangeError(`invalid window ${JSON.stringify(spec)}: sizes must be positive (count: a positive integer)`);
}

const positive = (v: number): boolean => Number.isFinite(v) && v > 0;

/**
 * A window for one rule group. `cap` defaults to WINDOW_CAP. Events whose time is not a
 * finite number (an unparsable timestamp) are ignored: they have no place in event time.
 */
export function createWindow(spec: WindowSpec, cap: number = WINDOW_CAP, listener: WindowListener | null = null): WindowState {
  check(Number.isInteger(cap) && cap > 0, spec);
  const buf = new TimeBuffer(listener);
  switch (spec.kind) {
    case 'sliding': check(positive(spec.ms), spec); return sliding(buf, spec.ms, cap);
    case 'tumbling': check(positive(spec.ms), spec); return tumbling(buf, spec.ms, cap);
    case 'count': check(Number.isInteger(spec.n) && spec.n > 0, spec); return count(buf, Math.min(spec.n, cap));
    case 'session': check(positive(spec.gapMs), spec); return session(buf, spec.gapMs, cap);
  }
}

/**
 * Holds events with time > latest − ms, latest being the newest time seen. A late event
 * still inside that span is inserted in time order; one already outside it is dropped.
 * key(): the oldest event's time (the window's current start), '' when empty.
 */
function sliding(buf: TimeBuffer, ms: number, cap: number): WindowState {
  let latest = -Infinity;
  return {
    add(e, t) {
      if (!Number.isFinite(t) || t <= latest - ms) return;
      if (t > latest) latest = t;
      buf.insert(e, t);
      while (buf.size > 0 && buf.oldestTime() <= latest - ms) buf.dropOldest();
      buf.trimTo(cap);
    },
    events: () => buf.events(),
    key: () => (buf.size > 0 ? iso(buf.oldestTime()) : ''),
  };
}

/**
 * Holds the events of the current bucket floor(t / ms). An event in a newer bucket closes
 * the current one and starts the next; an event for an older bucket is dropped, since that
 * bucket has already been judged. key(): the bucket's start time, '' before any event.
 */
function tumbling(buf: TimeBuffer, ms: number, cap: number): WindowState {
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
    events: () => buf.events(),
    key: () => (bucket === null ? '' : iso(bucket * ms)),
  };
}

/**
 * Holds the n events with the newest times (a late event older than all n is dropped at
 * once). key(): the oldest held event's time, '' when empty.
 */
function count(buf: TimeBuffer, n: number): WindowState {
  return {
    add(e, t) {
      if (!Number.isFinite(t)) return;
      buf.insert(e, t);
      buf.trimTo(n);
    },
    events: () => buf.events(),
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
function session(buf: TimeBuffer, gapMs: number, cap: number): WindowState {
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
    events: () => buf.events(),
    key: () => (start === null ? '' : iso(start)),
  };
}
