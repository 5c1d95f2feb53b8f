// SD-card wear of the edgebus target: bytes the daemon made the kernel write to disk
// (/proc/<pid>/io write_bytes: WAL, tables, compaction, MANIFEST — all its threads) against
// the bytes of the events themselves (the stored CBOR values of the log).
import { readFileSync } from 'node:fs';
import { EventStore, storeDir } from '../../../src/store/event-store.js';

/**
 * Bytes this process caused to be sent to the block layer so far. Counted when a page is
 * dirtied, so it includes writes the kernel has not flushed yet; 0 on tmpfs.
 */
export function diskWriteBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const m = /^write_bytes:\s+(\d+)$/m.exec(io);
  if (!m) throw new Error(`no write_bytes in /proc/${pid}/io`);
  return Number(m[1]);
}

export interface StoredSize {
  /** Events read from the log (all of them, up to the sample limit). */
  events: number;
  /** Average encoded (CBOR) value size of those events, in bytes. */
  bytesPerEvent: number;
}

/** Opens the (closed) store of a data dir and averages the encoded size of up to `limit` logged events. */
export async function storedEventSize(dataDir: string, limit = 500_000): Promise<StoredSize> {
  const store = await EventStore.open(storeDir(dataDir));
  try {
    let events = 0;
    let bytes = 0;
    const it = store.log.values({ limit });
    try {
      for (;;) {
        const chunk = await it.nextv(1000);
        if (chunk.length === 0) break;
        for (const v of chunk) bytes += v.byteLength;
        events += chunk.length;
      }
    } finally {
      await it.close();
    }
    return { events, bytesPerEvent: events ? bytes / events : Number.NaN };
  } finally {
    await store.close();
  }
}
