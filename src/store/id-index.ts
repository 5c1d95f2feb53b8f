// Idempotency keys: the id a publisher gave an event → its seq and receive time (gateway
// clock). An id is a duplicate while its entry is younger than the dedup window; the entry
// itself stays as long as its event does, so `--from-id` finds every stored event. The
// prune job deletes entries with the events they point at, a commit group at a time. Ids
// the gateway derives need no entry: `<source>:<epoch>:<seq>` ids are checked by the
// sequencer, and ULIDs are unique.
import type { EventStore } from './event-store.js';
import { parseSeqKey, seqKey } from './keys.js';
import type { WriteBatch } from './write-batch.js';

const RECENT_CAPACITY = 65_536;

export class IdIndex {
  /** Ids appended lately, including those whose write is still in flight. */
  private readonly recent = new Map<string, number>();
  private readonly idsPrefix: string;
  private readonly groupsPrefix: string;

  constructor(private readonly store: EventStore, private readonly dedupWindow: number) {
    this.idsPrefix = store.ids.prefix;
    this.groupsPrefix = store.idGroups.prefix;
  }

  /**
   * True if `id` was appended within the dedup window (before `now`); with `forLife`, if its
   * entry is there at all: entries last as long as their events.
   */
  seen(id: string, now: number, forLife = false): boolean {
    const at = this.recent.get(id) ?? this.storedAt(id);
    return at !== undefined && (forLife || now - at <= this.dedupWindow);
  }

  private storedAt(id: string): number | undefined {
    // Synchronous point read: keeps the group's order without an await per event.
    const value = this.store.ids.getSync(id);
    if (value === undefined) return undefined;
    return Number(value.slice(value.indexOf(':') + 1));
  }

  /** Records a publisher's id of an appended event in `batch`. */
  put(batch: WriteBatch, id: string, seq: number, receivedAt: number): void {
    batch.put(this.idsPrefix + id, seqKey(seq) + ':' + receivedAt);
    this.recent.set(id, receivedAt);
    if (this.recent.size > RECENT_CAPACITY) this.recent.delete(this.recent.keys().next().value!);
  }

  /**
   * One record per commit group, keyed by the seq of its last id-carrying event: the ids it
   * recorded go once the log no longer holds that seq. Seqs, not times: keys that cannot
   * collide or run backwards whatever the clock does.
   */
  putGroup(batch: WriteBatch, lastSeq: number, ids: readonly string[]): void {
    if (ids.length === 0) return;
    batch.put(this.groupsPrefix + seqKey(lastSeq), ids.join('\n'));
  }

  /** After a failed write the in-memory view may hold ids that never became durable. */
  forgetRecent(): void {
    this.recent.clear();
  }

  /**
   * Deletes the entries of ids whose events are gone (every seq below `firstSeq`, the log's
   * first). An entry that points at a later event (an id used again after its dedup window)
   * stays. Returns how many were deleted.
   */
  async prune(firstSeq: number): Promise<number> {
    let deleted = 0;
    const it = this.store.idGroups.iterator({ lt: seqKey(firstSeq) });
    try {
      for (;;) {
        const entries = await it.nextv(64);
        if (entries.length === 0) break;
        const batch = this.store.batch();
        const ids = entries.flatMap(([, value]) => value.split('\n'));
        const current = await this.store.ids.getMany(ids);
        for (let i = 0; i < ids.length; i++) {
          const value = current[i];
          if (value === undefined || parseSeqKey(value.slice(0, value.indexOf(':'))) >= firstSeq) continue;
          batch.del(ids[i], { sublevel: this.store.ids });
          this.recent.delete(ids[i]);
          deleted++;
        }
        for (const [key] of entries) batch.del(key, { sublevel: this.store.idGroups });
        await batch.write();
      }
    } finally {
      await it.close();
    }
    return deleted;
  }
}
