// Idempotency keys: the id a publisher gave an event → its seq and receive time. An id is a
// duplicate while its entry is younger than the dedup window; the prune job deletes the
// entries that have expired, a commit group at a time. Ids the gateway derives need no
// entry: `<source>:<epoch>:<seq>` ids are checked by the sequencer, ULIDs are unique.
import type { EventStore } from '../store/event-store.js';
import { seqKey, timeKey } from '../store/keys.js';
import type { WriteBatch } from '../store/write-batch.js';

const RECENT_CAPACITY = 65_536;

export class IdIndex {
  /** Ids appended lately, including those whose write is still in flight. */
  private readonly recent = new Map<string, number>();
  private lastGroupKey = '';

  constructor(private readonly store: EventStore, private readonly dedupWindow: number) {}

  /** True if `id` was appended within the dedup window (before `now`). */
  seen(id: string, now: number): boolean {
    const at = this.recent.get(id) ?? this.storedAt(id);
    return at !== undefined && now - at <= this.dedupWindow;
  }

  private storedAt(id: string): number | undefined {
    // Synchronous point read: keeps the group's order without an await per event.
    const value = this.store.ids.getSync(id);
    if (value === undefined) return undefined;
    return Number(value.slice(value.indexOf(':') + 1));
  }

  /** Records a publisher's id of an appended event in `batch`. */
  put(batch: WriteBatch, id: string, seq: number, receivedAt: number): void {
    batch.put(this.store.prefix.ids + id, seqKey(seq) + ':' + receivedAt);
    this.recent.set(id, receivedAt);
    if (this.recent.size > RECENT_CAPACITY) this.recent.delete(this.recent.keys().next().value!);
  }

  /** One expiry record per commit group: its receive time → the ids it recorded. */
  putGroup(batch: WriteBatch, now: number, ids: string[]): void {
    if (ids.length === 0) return;
    let key = timeKey(now);
    // Two groups in the same millisecond must not overwrite each other's record.
    if (key <= this.lastGroupKey) key = this.lastGroupKey + '+';
    this.lastGroupKey = key;
    batch.put(this.store.prefix.idGroups + key, ids.join('\n'));
  }

  /** After a failed write the in-memory view may hold ids that never became durable. */
  forgetRecent(): void {
    this.recent.clear();
  }

  /** Deletes id entries older than the dedup window. Returns how many were deleted. */
  async prune(now: number): Promise<number> {
    const cutoff = timeKey(now - this.dedupWindow);
    let deleted = 0;
    const it = this.store.idGroups.iterator({ lt: cutoff });
    try {
      for (;;) {
        const entries = await it.nextv(64);
        if (entries.length === 0) break;
        const batch = this.store.batch();
        const ids = entries.flatMap(([, value]) => value.split('\n'));
        const current = await this.store.ids.getMany(ids);
        const limit = now - this.dedupWindow;
        for (let i = 0; i < ids.length; i++) {
          // An id seen again after it expired points at its newer event now: keep that entry.
          const value = current[i];
          if (value === undefined || Number(value.slice(value.indexOf(':') + 1)) > limit) continue;
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
