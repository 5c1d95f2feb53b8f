// The clock's history over the log: a segment per stretch of seqs during which the wall
// clock kept one offset to the gateway clock and one quality. A segment starts at every
// daemon start, every step and every change of quality. With it, any stored event's times
// can be read on either clock, from its stored bytes alone:
//
// - receive time on the gateway clock: the wall time it was stamped with (its timestamp,
//   or `metadata.receivedAt` when the publisher gave its own time), less its segment's offset;
// - event time (what rules, TTL and ages use): the receive time, less the age the publisher
//   said the reading had when it arrived — trusted only on a synchronised gateway clock;
// - corrected time: a timestamp the gateway stamped, moved by the steps that came after it
//   in the same run of the clock (one boot, or lives of the daemon the gateway clock carried
//   across exactly). The latest offset of a run is taken as the truth: a later step is a
//   correction, as when NTP finally reaches a server.
import { isoTime, parseIsoTime } from '../events/iso-time.js';
import type { EdgeEvent } from '../events/types.js';
import type { ClockQuality } from './quality.js';

export interface ClockSegment {
  /** The first seq appended in this segment. */
  fromSeq: number;
  cause: 'start' | 'step' | 'quality';
  boot: string | null;
  /** The boot clock (ms since boot) when the segment began. */
  uptime: number | null;
  /** The gateway clock when the segment began. */
  g: number;
  /** wall − gateway clock during the segment. */
  offset: number;
  quality: ClockQuality;
}

/**
 * Whether `seg` carries on the run of the clock `prev` belongs to: every segment does but a
 * daemon's start, which does only within the same boot, where the gateway clock carried on
 * exactly (time/start.ts).
 */
export function continuesRun(prev: ClockSegment | null, seg: Pick<ClockSegment, 'cause' | 'boot' | 'uptime'>): boolean {
  if (prev === null) return false;
  return seg.cause !== 'start' || (seg.boot !== null && seg.boot === prev.boot && seg.uptime !== null && prev.uptime !== null);
}

interface Run {
  /** Index of the run's first segment. */
  first: number;
  /** Gateway clock where the run starts. */
  startG: number;
  /** The run's best offset: its latest. */
  best: number;
}

export class Timeline {
  private readonly segs: ClockSegment[];
  /** Per segment, the index of its run; rebuilt lazily after a change. */
  private runOf: number[] | null = null;
  private runs: Run[] = [];

  constructor(segments: readonly ClockSegment[] = []) {
    this.segs = [...segments].sort((a, b) => a.fromSeq - b.fromSeq);
  }

  /** Replaces every segment (after a failed write, with what the store holds). */
  reset(segments: readonly ClockSegment[]): void {
    this.segs.length = 0;
    this.segs.push(...[...segments].sort((a, b) => a.fromSeq - b.fromSeq));
    this.runOf = null;
  }

  get segments(): readonly ClockSegment[] {
    return this.segs;
  }

  get last(): ClockSegment | null {
    return this.segs.length ? this.segs[this.segs.length - 1] : null;
  }

  /**
   * Appends a segment. One that starts at the same seq as the last (nothing was appended
   * between) takes its offset and quality; the run boundary and start point stay.
   */
  add(seg: ClockSegment): ClockSegment {
    const last = this.last;
    if (last !== null && seg.fromSeq < last.fromSeq) throw new RangeError(`clock segment at seq ${seg.fromSeq} is before the last one (${last.fromSeq})`);
    if (last !== null && seg.fromSeq === last.fromSeq) {
      last.offset = seg.offset;
      last.quality = seg.quality;
    } else this.segs.push(seg);
    this.runOf = null;
    return this.last!;
  }

  /** Forgets segments wholly before `seq` (the log's first seq): the one covering it stays. */
  dropBefore(seq: number): ClockSegment[] {
    let n = 0;
    while (n + 1 < this.segs.length && this.segs[n + 1].fromSeq <= seq) n++;
    if (n === 0) return [];
    this.runOf = null;
    return this.segs.splice(0, n);
  }

  segmentOf(seq: number): ClockSegment | null {
    const i = this.indexOf(seq);
    return i < 0 ? null : this.segs[i];
  }

  private indexOf(seq: number): number {
    const s = this.segs;
    const n = s.length;
    // Live events and drains read the newest segments: try the end first.
    if (n === 0 || seq < s[0].fromSeq) return -1;
    if (seq >= s[n - 1].fromSeq) return n - 1;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid].fromSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private index(): number[] {
    if (this.runOf !== null) return this.runOf;
    const runOf: number[] = [];
    const runs: Run[] = [];
    for (let i = 0; i < this.segs.length; i++) {
      const s = this.segs[i];
      if (!continuesRun(i > 0 ? this.segs[i - 1] : null, s)) runs.push({ first: i, startG: s.g, best: s.offset });
      const run = runs[runs.length - 1];
      run.best = s.offset;
      runOf.push(runs.length - 1);
    }
    this.runs = runs;
    this.runOf = runOf;
    return runOf;
  }

  /** The first seq of the run of the clock `seq` belongs to (`seq` itself before any segment). */
  runStart(seq: number): number {
    const i = this.indexOf(seq);
    if (i < 0) return seq;
    const run = this.index()[i];
    return this.segs[this.runs[run].first].fromSeq;
  }

  /** ms to add to a timestamp the gateway stamped at `seq` for its corrected time. */
  correction(seq: number): number {
    const i = this.indexOf(seq);
    if (i < 0) return 0;
    const run = this.index()[i];
    return this.runs[run].best - this.segs[i].offset;
  }

  /** The event's receive time on the gateway clock. */
  receiveTime(e: EdgeEvent): number {
    const seg = this.segmentOf(e.seq);
    const received = e.metadata?.receivedAt;
    return parseIsoTime(received ?? e.timestamp) - (seg?.offset ?? 0);
  }

  /**
   * The event's time on the gateway clock: when it was received, less the age its publisher's
   * own time gave it then (on a synchronised gateway clock only: on any other the difference
   * between the two clocks says nothing). A publisher ahead of the gateway counts as now.
   */
  eventTime(e: EdgeEvent): number {
    const received = this.receiveTime(e);
    const own = e.metadata?.receivedAt;
    let t = received;
    if (own !== undefined && e.metadata.clock === 'synced') {
      const age = parseIsoTime(own) - parseIsoTime(e.timestamp);
      if (age > 0) t = received - age;
    }
    return Number.isFinite(t) ? t : 0;
  }

  /** The event's timestamp in epoch ms, corrected for later steps when the gateway stamped it. */
  correctedTime(e: EdgeEvent): number {
    const t = parseIsoTime(e.timestamp);
    if (e.metadata?.receivedAt !== undefined) return t;
    return t + this.correction(e.seq);
  }

  /** correctedTime as the ISO text readers show; the stored text itself when nothing moves it. */
  correctedTimestamp(e: EdgeEvent): string {
    if (e.metadata?.receivedAt !== undefined) return e.timestamp;
    const c = this.correction(e.seq);
    if (c === 0) return e.timestamp;
    const t = parseIsoTime(e.timestamp) + c;
    return Number.isFinite(t) ? isoTime(t) : e.timestamp;
  }

  /**
   * The earliest gateway-clock reading from which a read finds every event whose corrected
   * time is at or after `wall` (each run maps the gateway clock to corrected wall time with
   * its own best offset). +Infinity when no stretch of the log reaches that late.
   */
  gatewayTimeOf(wall: number): number {
    this.index();
    // Before the first segment (a store from before clocks were kept): offset 0.
    const firstG = this.segs.length ? this.segs[0].g : Infinity;
    let best = wall < firstG ? wall : Infinity;
    for (let r = 0; r < this.runs.length; r++) {
      const run = this.runs[r];
      const end = r + 1 < this.runs.length ? this.runs[r + 1].startG : Infinity;
      const g = wall - run.best;
      if (g < end) best = Math.min(best, Math.max(g, run.startG));
    }
    return best;
  }

  /** A gateway-clock reading as corrected wall time, for display. */
  wallOf(g: number): number {
    this.index();
    for (let r = this.runs.length - 1; r >= 0; r--) {
      if (g >= this.runs[r].startG) return g + this.runs[r].best;
    }
    return g;
  }
}
