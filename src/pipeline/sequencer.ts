// Per-source ordering by the publisher's `seq`: late events wait for their predecessors
// up to the reorder window; a gap is then released and recorded; a device that counts
// from 0 or 1 again opens a new epoch. Pure in-memory logic: the appender persists what
// it decides (staged drafts, source states) in the same batch as the events.
import type { EventDraft } from '../events/types.js';
import type { SourceState } from '../store/pipeline-state.js';

export interface StagedDraft {
  draft: EventDraft;
  /** When the gap before it is released, epoch ms. */
  deadline: number;
}

export type SystemNotice =
  | { kind: 'sequence-gap'; source: string; epoch: number; missing: [number, number] }
  | { kind: 'sequence-reset'; source: string; epoch: number; previousEpoch: number; lastSeq: number; reason: 'counter-restarted' | 'dedup-window-expired' };

export type SequencerOp =
  | { op: 'append'; draft: EventDraft }
  | { op: 'stage'; draft: EventDraft }
  | { op: 'unstage'; source: string; epoch: number; deviceSeq: number }
  | { op: 'notice'; notice: SystemNotice };

export interface SequencerOptions {
  reorderWindow: number;
  dedupWindow: number;
  /** Past this many waiting events from one source, the oldest gap is released at once. */
  maxStagedPerSource?: number;
}

const MAX_REMEMBERED_GAPS = 32;

export class Sequencer {
  private readonly states = new Map<string, SourceState>();
  private readonly staged = new Map<string, Map<number, StagedDraft>>();
  private readonly dirty = new Set<string>();
  private readonly maxStaged: number;

  constructor(private readonly opts: SequencerOptions) {
    this.maxStaged = opts.maxStagedPerSource ?? 1024;
  }

  /** Restores persisted states and staged drafts (at start, or after a failed write). */
  load(states: Iterable<[string, SourceState]>, staged: Iterable<StagedDraft>): void {
    this.states.clear();
    this.staged.clear();
    this.dirty.clear();
    for (const [source, state] of states) this.states.set(source, state);
    for (const s of staged) this.bufferOf(s.draft.source).set(s.draft.deviceSeq!, s);
  }

  state(source: string): SourceState {
    let st = this.states.get(source);
    if (!st) {
      st = { epoch: 0, next: null, version: 0, lastSeenAt: 0, gaps: [] };
      this.states.set(source, st);
    }
    return st;
  }

  sources(): IterableIterator<[string, SourceState]> {
    return this.states.entries();
  }

  /** Sources whose state changed since the last call: the appender writes them. */
  takeDirty(): string[] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Counts one appended event against its source's stream; returns its version. */
  nextVersion(source: string, receivedAt: number): number {
    const st = this.state(source);
    st.lastSeenAt = receivedAt;
    this.dirty.add(source);
    return ++st.version;
  }

  private bufferOf(source: string): Map<number, StagedDraft> {
    let buf = this.staged.get(source);
    if (!buf) {
      buf = new Map();
      this.staged.set(source, buf);
    }
    return buf;
  }

  /** Decides what happens to one event; pushes the resulting operations onto `out`. */
  offer(draft: EventDraft, now: number, out: SequencerOp[]): 'appended' | 'staged' | 'duplicate' {
    const seq = draft.deviceSeq;
    if (seq === null) {
      out.push({ op: 'append', draft });
      return 'appended';
    }
    const source = draft.source;
    const st = this.state(source);
    if (st.next === null) st.next = seq;
    if (seq < st.next) {
      const expired = st.lastSeenAt > 0 && now - st.lastSeenAt > this.opts.dedupWindow;
      if ((seq <= 1 && this.highestSeen(source, st) > seq) || expired) {
        this.openEpoch(source, st, seq, expired && !(seq <= 1) ? 'dedup-window-expired' : 'counter-restarted', out);
      }
    }
    if (seq < st.next) {
      const gap = st.gaps.findIndex(([from, to]) => seq >= from && seq <= to);
      if (gap < 0) return 'duplicate';
      this.removeFromGap(st, gap, seq);
      this.dirty.add(source);
      draft.id ??= `${source}:${st.epoch}:${seq}`;
      out.push({ op: 'append', draft });
      return 'appended';
    }
    draft.id ??= `${source}:${st.epoch}:${seq}`;
    if (seq === st.next) {
      out.push({ op: 'append', draft });
      st.next = seq + 1;
      this.dirty.add(source);
      this.drain(source, st, out);
      return 'appended';
    }
    const buf = this.bufferOf(source);
    if (buf.has(seq)) return 'duplicate';
    buf.set(seq, { draft, deadline: now + this.opts.reorderWindow });
    out.push({ op: 'stage', draft });
    if (buf.size > this.maxStaged) this.releaseGap(source, st, buf, out);
    return 'staged';
  }

  /** Releases every gap whose waiting event has waited a whole reorder window. */
  releaseDue(now: number, out: SequencerOp[]): void {
    for (const [source, buf] of this.staged) {
      const st = this.state(source);
      while (buf.size > 0 && minDeadline(buf) <= now) this.releaseGap(source, st, buf, out);
      if (buf.size === 0) this.staged.delete(source);
    }
  }

  /** The earliest time a staged event's wait ends, or null when nothing waits. */
  nextDeadline(): number | null {
    let min: number | null = null;
    for (const buf of this.staged.values()) {
      if (buf.size === 0) continue;
      const d = minDeadline(buf);
      if (min === null || d < min) min = d;
    }
    return min;
  }

  stagedCount(): number {
    let n = 0;
    for (const buf of this.staged.values()) n += buf.size;
    return n;
  }

  private highestSeen(source: string, st: SourceState): number {
    let high = (st.next ?? 0) - 1;
    const buf = this.staged.get(source);
    if (buf) for (const s of buf.keys()) if (s > high) high = s;
    return high;
  }

  private openEpoch(source: string, st: SourceState, seq: number, reason: 'counter-restarted' | 'dedup-window-expired', out: SequencerOp[]): void {
    // What still waits belongs to the old epoch: release it in order before the new one starts.
    const buf = this.staged.get(source);
    while (buf && buf.size > 0) this.releaseGap(source, st, buf, out);
    const previousEpoch = st.epoch;
    out.push({ op: 'notice', notice: { kind: 'sequence-reset', source, epoch: previousEpoch + 1, previousEpoch, lastSeq: (st.next ?? 1) - 1, reason } });
    st.resetsRecorded = (st.resetsRecorded ?? 0) + 1;
    st.epoch = previousEpoch + 1;
    st.next = seq;
    st.gaps = [];
    this.dirty.add(source);
  }

  private releaseGap(source: string, st: SourceState, buf: Map<number, StagedDraft>, out: SequencerOp[]): void {
    let first = Infinity;
    for (const s of buf.keys()) if (s < first) first = s;
    const next = st.next ?? first;
    if (first > next) {
      out.push({ op: 'notice', notice: { kind: 'sequence-gap', source, epoch: st.epoch, missing: [next, first - 1] } });
      st.gapsRecorded = (st.gapsRecorded ?? 0) + 1;
      st.gaps.push([next, first - 1]);
      if (st.gaps.length > MAX_REMEMBERED_GAPS) st.gaps.shift();
    }
    st.next = first;
    this.dirty.add(source);
    this.drain(source, st, out);
  }

  private drain(source: string, st: SourceState, out: SequencerOp[]): void {
    const buf = this.staged.get(source);
    if (!buf) return;
    let next = st.next!;
    for (let s = buf.get(next); s !== undefined; s = buf.get(next)) {
      buf.delete(next);
      out.push({ op: 'unstage', source, epoch: st.epoch, deviceSeq: next });
      out.push({ op: 'append', draft: s.draft });
      next++;
    }
    st.next = next;
  }

  private removeFromGap(st: SourceState, index: number, seq: number): void {
    const [from, to] = st.gaps[index];
    const pieces: [number, number][] = [];
    if (from < seq) pieces.push([from, seq - 1]);
    if (seq < to) pieces.push([seq + 1, to]);
    st.gaps.splice(index, 1, ...pieces);
  }
}

function minDeadline(buf: Map<number, StagedDraft>): number {
  let min = Infinity;
  for (const s of buf.values()) if (s.deadline < min) min = s.deadline;
  return min;
}
