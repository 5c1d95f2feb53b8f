// The one LevelDB handle of the gateway and its sublevels. Every write that must be
// atomic (an event, its indexes, its source's state) goes in one chained batch here.
import { mkdirSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { AbstractSublevel } from 'abstract-level';
import { parseSeqKey } from './keys.js';
import { createWriteBatch, nativeBatchUnavailable, type WriteBatch } from './write-batch.js';
import { migrate } from './migrate.js';

/**
 * 3: the device-state projection (`devices`), kept with the events it reflects.
 * 2: the gateway clock. Receive marks, id entries and source states hold gateway-clock
 * times (equal to the wall clock at the upgrade, so nothing is rewritten for them); the
 * `clock` sublevel holds the clock's segments; `idgroups` is keyed by seq (see migrate.ts).
 */
export const STORE_SCHEMA_VERSION = 3;

/** The LevelDB directory inside the data dir; a corrupt store is moved aside beside it. */
export function storeDir(dataDir: string): string {
  return join(dataDir, 'store');
}

type Db = ClassicLevel<string, string>;
export type Sublevel<V> = AbstractSublevel<Db, string | Uint8Array | Buffer, string, V>;
export type Batch = ReturnType<Db['batch']>;

export class StoreVersionError extends Error {
  constructor(found: number) {
    super(`store schema version ${found} is newer than this edgebus supports (${STORE_SCHEMA_VERSION}); upgrade edgebus or restore an older data dir`);
    this.name = 'StoreVersionError';
  }
}

/** A record the store cannot do without is unreadable (quarantine.ts moves such a store aside). */
export class StoreCorruptError extends Error {
  readonly code = 'EDGEBUS_STORE_CORRUPT';
  constructor(what: string) {
    super(`Corruption: ${what}`);
    this.name = 'StoreCorruptError';
  }
}

/**
 * The sublevels and the raw handles (db, batch, newWriteBatch) are the store's layout:
 * only src/store's modules use them, and the rest of the gateway goes through those
 * (test/architecture/store-layout.unit.test.ts holds to it).
 */
export class EventStore {
  readonly db: Db;
  /** seq → CBOR event (the wire encoding). */
  readonly log: Sublevel<Uint8Array>;
  /** publisher's event id → `<seq key>:<receive time>`: duplicate checks and reads from an id. */
  readonly ids: Sublevel<string>;
  /** seq key of a commit's last id-carrying event → the ids that commit recorded: their pruning. */
  readonly idGroups: Sublevel<string>;
  /** source NUL version → seq key: each source's stream. */
  readonly streams: Sublevel<string>;
  /** source → CBOR SourceState (epoch, next device seq, version, gaps). */
  readonly sources: Sublevel<Uint8Array>;
  /** source NUL epoch NUL device seq → CBOR draft waiting in the reorder buffer. */
  readonly pending: Sublevel<Uint8Array>;
  /** receive time (gateway clock) → first seq appended in that commit: retention, reads from a time. */
  readonly times: Sublevel<string>;
  /** seq key → '': the high and critical events, which overtake the backlog upstream. */
  readonly urgent: Sublevel<string>;
  /** correlation id NUL seq key → '': the events of a chain, in log order (see correlation-index.ts). */
  readonly correlations: Sublevel<string>;
  /** seq key → correlation id: the way back from an event to its chain entry, for deletes by seq. */
  readonly correlatedSeqs: Sublevel<string>;
  /** seq key → JSON delivery: Commands stored and not yet published on the local broker (outbox.ts). */
  readonly outbox: Sublevel<string>;
  /** ULID → CBOR RejectedRecord. */
  readonly rejected: Sublevel<Uint8Array>;
  /** seq key → JSON ClockSegment: the wall clock's offset and quality over the log. */
  readonly clock: Sublevel<string>;
  /** device id → JSON DeviceState: the current state of each device (device-state.ts). */
  readonly devices: Sublevel<string>;
  /** schema version, cursors, prune marks. */
  readonly meta: Sublevel<string>;
  /** checkpoint name → JSON CheckpointRecord: the user's named points in the log (checkpoints.ts). */
  readonly checkpoints: Sublevel<string>;

  private constructor(readonly dir: string) {
    this.db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    const bin = { valueEncoding: 'view' } as const;
    this.log = this.db.sublevel<string, Uint8Array>('log', bin);
    this.ids = this.db.sublevel<string, string>('ids', {});
    this.idGroups = this.db.sublevel<string, string>('idgroups', {});
    this.streams = this.db.sublevel<string, string>('streams', {});
    this.sources = this.db.sublevel<string, Uint8Array>('sources', bin);
    this.pending = this.db.sublevel<string, Uint8Array>('pending', bin);
    this.times = this.db.sublevel<string, string>('times', {});
    this.urgent = this.db.sublevel<string, string>('urgent', {});
    this.correlations = this.db.sublevel<string, string>('corr', {});
    this.correlatedSeqs = this.db.sublevel<string, string>('corrseqs', {});
    this.outbox = this.db.sublevel<string, string>('outbox', {});
    this.rejected = this.db.sublevel<string, Uint8Array>('rejected', bin);
    this.clock = this.db.sublevel<string, string>('clock', {});
    this.devices = this.db.sublevel<string, string>('devices', {});
    this.meta = this.db.sublevel<string, string>('meta', {});
    this.checkpoints = this.db.sublevel<string, string>('checkpoints', {});
  }

  static async open(dir: string): Promise<EventStore> {
    mkdirSync(dir, { recursive: true });
    const store = new EventStore(dir);
    await store.db.open();
    try {
      await store.checkSchemaVersion();
      // Reads both ends of the log: LevelDB opens without reading its tables, so a damaged
      // table would otherwise only surface later, in the middle of the start.
      await store.firstSeq();
      await store.lastSeq();
    } catch (err) {
      await store.db.close();
      throw err;
    }
    return store;
  }

  private async checkSchemaVersion(): Promise<void> {
    const found = await this.meta.get('schemaVersion');
    if (found === undefined) {
      await this.meta.put('schemaVersion', String(STORE_SCHEMA_VERSION));
      return;
    }
    const version = Number(found);
    if (!Number.isInteger(version) || version < 1) throw new StoreCorruptError(`unreadable schema version record ${JSON.stringify(found.slice(0, 40))}`);
    if (version > STORE_SCHEMA_VERSION) throw new StoreVersionError(version);
    if (version < STORE_SCHEMA_VERSION) await migrate(this, version, STORE_SCHEMA_VERSION);
  }

  /** The highest seq in the log, 0 when empty. */
  async lastSeq(): Promise<number> {
    const keys = await this.log.keys({ reverse: true, limit: 1 }).all();
    return keys.length ? parseSeqKey(keys[0]) : 0;
  }

  async firstSeq(): Promise<number> {
    const keys = await this.log.keys({ limit: 1 }).all();
    return keys.length ? parseSeqKey(keys[0]) : 0;
  }

  /** Events held, from the first stored seq to `lastSeq` (evictions leave gaps it counts). */
  async eventCount(lastSeq: number): Promise<number> {
    const first = await this.firstSeq();
    return first === 0 ? 0 : lastSeq - first + 1;
  }

  /**
   * Closes and reopens the handle. After a failed write LevelDB may keep appending behind
   * a torn record of its write-ahead log, which recovery would then drop: reopening
   * recovers what is valid into a table and starts a fresh log.
   */
  async reopen(): Promise<void> {
    await this.db.close();
    await this.db.open();
    // Closing the handle closes its sublevels, and they do not reopen with it.
    for (const sub of [this.log, this.ids, this.idGroups, this.streams, this.sources, this.pending, this.times, this.urgent, this.correlations, this.correlatedSeqs, this.outbox, this.rejected, this.clock, this.devices, this.meta, this.checkpoints]) {
      await sub.open();
    }
  }

  /** A small synced write: proves the disk takes writes (after a reopen on a full disk). */
  async probeWrite(): Promise<void> {
    const batch = this.newWriteBatch();
    batch.put(this.meta.prefix + 'writeProbe', '');
    await batch.write(true);
  }

  batch(): Batch {
    return this.db.batch();
  }

  /** Why commits cannot use the native write batch (see write-batch.ts), or null when they do. */
  nativeBatchIssue(): string | null {
    return nativeBatchUnavailable(this.db);
  }

  /** A reusable raw write batch for the store's writers: keys carry their sublevel's prefix (`sublevel.prefix`). */
  newWriteBatch(): WriteBatch {
    return createWriteBatch(this.db);
  }

  /**
   * Bytes of live data: LevelDB's tables and the write-ahead log of what is not in a table
   * yet. What deleting events can give back: unlike the files on disk it leaves out tables
   * an open iterator still pins after a compaction, and LevelDB's bookkeeping files —
   * neither of which evicting more events would shrink.
   */
  async liveBytes(): Promise<number> {
    // Every sublevel key starts with '!' (0x21): '"' (0x22) bounds them all. What is still in
    // the memtable is not in a table yet: its write-ahead log stands for it.
    const tables = await this.db.approximateSize('!', '"');
    let wal = 0;
    for (const name of await readdir(this.dir)) {
      if (!/^\d+\.log$/.test(name)) continue;
      try {
        wal += (await stat(join(this.dir, name))).size;
      } catch { /* replaced by a flush between readdir and stat */ }
    }
    return tables + wal;
  }

  /** Bytes the store occupies on disk: its files, write-ahead log included. */
  async approximateBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      try {
        total += (await stat(join(this.dir, name))).size;
      } catch { /* a file compacted away between readdir and stat */ }
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
  }
}
