// A reader that keeps one read of the log ahead of its consumer: while the forwarder packs,
// encodes and publishes one chunk, LevelDB (on libuv's thread pool) is already fetching the
// next, so the drain of a backlog does not wait on the disk between batches. One iterator
// serves many batches instead of one per batch.
//
// An iterator reads a snapshot: it is bounded by the last seq readable when it was opened,
// and a new one is opened from where it stopped once it is exhausted, so events appended
// since are read too. Only events at or below the caller's `last` are handed out.
//
// It reads values only: every stored event carries its own seq, and the caller reads that
// from the bytes anyway (`item`). The keys cost a string from the native side per event,
// the sublevel's prefix cut off it, a parse, and a tuple: young-generation garbage that the
// size-favouring heap (cli/heap-mode.ts) collects every few hundred kilobytes, promoting
// the read-ahead chunk with it. Reading values only took packing and encoding a backlog
// from 6.6 to 4.7 µs of CPU per event (5.1 → 4.2 G instructions for 100k events).
import type { AbstractIteratorOptions, AbstractValueIterator } from 'abstract-level';
import type { EventStore, Sublevel } from './event-store.js';
import { seqKey } from './keys.js';

/**
 * How many bytes one native read may gather. classic-level's default (16 KiB) hands back
 * ~45 stored events per nextv, a thread-pool round trip each; this lets one nextv fill a
 * whole chunk (a batch's worth: 500 events of ~350 bytes, 256 kB at most by default).
 */
const READ_BYTES = 512 * 1024;

type Iter = AbstractValueIterator<Sublevel<Uint8Array>, string, Uint8Array>;

/** What the reader makes of each stored value, and the seq it tells. */
export interface StoredValueReader<T> {
  item: (bytes: Uint8Array) => T;
  seqOf: (item: T) => number;
}

export class LogReadAhead<T> {
  private it: Iter | null = null;
  /** Fetched, not yet handed out, in seq order. */
  private buffered: T[] = [];
  private head = 0;
  private fetching: Promise<T[]> | null = null;
  /** The first seq no iterator has returned yet. */
  private nextFrom: number;
  private exhausted = true;
  /** The highest seq the current iterator reads. */
  private bound = 0;
  private closed = false;

  constructor(private readonly store: EventStore, from: number, private readonly chunk: number, private readonly reader: StoredValueReader<T>) {
    this.nextFrom = from;
  }

  /**
   * The next events in seq order, at most up to `last`; empty only when there are none up
   * to `last` (or the reader is closed). Starts fetching the chunk after them.
   */
  async next(last: number): Promise<readonly T[]> {
    while (this.head === this.buffered.length) {
      if (this.closed) return [];
      if (this.fetching === null) {
        if (this.nextFrom > last) return [];
        await this.open(last);
        if (this.closed) return [];
      }
      const pending = this.fetching;
      if (pending === null) return [];
      let entries: T[];
      try {
        entries = await pending;
      } finally {
        if (this.fetching === pending) this.fetching = null;
      }
      if (this.closed) return [];
      this.buffered = entries;
      this.head = 0;
    }
    const out: T[] = [];
    const { seqOf } = this.reader;
    while (this.head < this.buffered.length && seqOf(this.buffered[this.head]) <= last) out.push(this.buffered[this.head++]);
    if (this.head === this.buffered.length) {
      this.buffered = [];
      this.head = 0;
    }
    this.prefetch();
    return out;
  }

  /** Hands back events `next` gave out and the caller did not use: they come first again. */
  unread(entries: readonly T[]): void {
    if (entries.length === 0) return;
    this.buffered = [...entries, ...this.buffered.slice(this.head)];
    this.head = 0;
  }

  /** Ends the reads; a read in progress returns nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffered = [];
    this.head = 0;
    const it = this.it;
    this.it = null;
    // A pending nextv finishes first; the close is queued behind it.
    if (it) void Promise.resolve(this.fetching).then(() => it.close()).catch(() => {});
  }

  /** A new iterator from where the last one stopped up to `last`: it sees what was appended since. */
  private async open(last: number): Promise<void> {
    await this.closeIterator();
    if (this.closed) return;
    // classic-level reads the option; the sublevel passes it through though its typings do not list it.
    const options: AbstractIteratorOptions<string, Uint8Array> & { highWaterMarkBytes: number } = {
      gte: seqKey(this.nextFrom), lte: seqKey(last), highWaterMarkBytes: READ_BYTES,
    };
    this.it = this.store.log.values(options);
    this.bound = last;
    this.exhausted = false;
    this.prefetch();
  }

  /** Starts the next nextv unless one is running or the iterator has nothing more. */
  private prefetch(): void {
    const it = this.it;
    if (this.closed || this.fetching !== null || this.exhausted || it === null) return;
    const bound = this.bound;
    const { item, seqOf } = this.reader;
    this.fetching = it.nextv(this.chunk).then((raw) => {
      const entries = raw.map(item);
      if (entries.length) this.nextFrom = seqOf(entries[entries.length - 1]) + 1;
      // nextv may return fewer than asked and still have more: only an empty read is the end.
      // Everything up to the bound is read then (seqs missing there were evicted).
      if (raw.length === 0) {
        this.exhausted = true;
        this.nextFrom = Math.max(this.nextFrom, bound + 1);
      }
      return entries;
    });
    // A failure is reported by the next() that awaits it, never as an unhandled rejection.
    this.fetching.catch(() => {});
  }

  private async closeIterator(): Promise<void> {
    const it = this.it;
    this.it = null;
    if (it) await it.close();
  }
}
