// The group commit's write batch. abstract-level's chained batch spends ~2.5 µs of JS per
// put with a `{ sublevel }` option (options normalised, an op object spread, encodings
// looked up) and ~1 µs without — more than the rest of the pipeline per event — and its
// native batch is only freed by GC, so RSS grew by a batch per commit under load. Here one
// native LevelDB WriteBatch is driven through classic-level's binding and reused (Clear
// keeps its capacity), with keys already carrying their sublevel's prefix. Where the
// binding is not reachable (another abstract-level implementation), the public chained
// batch does the same job, slower.
import { createRequire } from 'node:module';
import type { ClassicLevel } from 'classic-level';

interface Binding {
  batch_init(db: unknown): unknown;
  batch_put(batch: unknown, key: string, value: string | Uint8Array): void;
  batch_del(batch: unknown, key: string): void;
  batch_clear(batch: unknown): void;
  batch_write(batch: unknown, options: { sync: boolean }): Promise<void>;
}

export interface WriteBatch {
  /** `key` includes the sublevel prefix (see EventStore.prefix). */
  put(key: string, value: string | Uint8Array): void;
  del(key: string): void;
  /** Number of operations since the last write. */
  readonly length: number;
  /** Writes atomically and empties the batch for the next group, failed or not. */
  write(sync: boolean): Promise<void>;
  /** Drops what was added since the last write. */
  clear(): void;
}

function loadBinding(): Binding | null {
  try {
    const require = createRequire(import.meta.url);
    const binding = require('classic-level/binding.js') as Partial<Binding>;
    return typeof binding.batch_init === 'function' && typeof binding.batch_put === 'function' ? (binding as Binding) : null;
  } catch {
    return null;
  }
}

const binding = loadBinding();

/** The database is closed (a reopen that failed, or a stop): what abstract-level says then. */
export class StoreNotOpenError extends Error {
  readonly code = 'LEVEL_DATABASE_NOT_OPEN';
  constructor() {
    super('Database is not open');
    this.name = 'StoreNotOpenError';
  }
}

class NativeBatch implements WriteBatch {
  length = 0;
  constructor(private readonly native: unknown, private readonly db: Db) {}

  put(key: string, value: string | Uint8Array): void {
    binding!.batch_put(this.native, key, value);
    this.length++;
  }

  del(key: string): void {
    binding!.batch_del(this.native, key);
    this.length++;
  }

  async write(sync: boolean): Promise<void> {
    // The binding does not check: a write while the handle is closed dereferences a freed
    // LevelDB and kills the process (SIGSEGV). A reopen on a full disk fails and leaves it
    // closed ("IO error: …ldb: No space left on device") while the prune job may still write.
    if (this.db.status !== 'open') {
      this.clear();
      throw new StoreNotOpenError();
    }
    try {
      await binding!.batch_write(this.native, { sync });
    } finally {
      this.clear();
    }
  }

  clear(): void {
    binding!.batch_clear(this.native);
    this.length = 0;
  }
}

type Db = ClassicLevel<string, string>;

class ChainedBatch implements WriteBatch {
  length = 0;
  private batch: ReturnType<Db['batch']>;
  constructor(private readonly db: Db) {
    this.batch = db.batch();
  }

  put(key: string, value: string | Uint8Array): void {
    if (typeof value === 'string') this.batch.put(key, value);
    else this.batch.put(key, value as unknown as string, BINARY);
    this.length++;
  }

  del(key: string): void {
    this.batch.del(key);
    this.length++;
  }

  async write(sync: boolean): Promise<void> {
    const batch = this.batch;
    this.batch = this.db.batch();
    this.length = 0;
    await batch.write({ sync });
  }

  clear(): void {
    void this.batch.close();
    this.batch = this.db.batch();
    this.length = 0;
  }
}
const BINARY = { valueEncoding: 'view' } as const;

/** The native context of an open classic-level database (a private field, found by name). */
function nativeContext(db: Db): unknown {
  const sym = Object.getOwnPropertySymbols(db).find((s) => s.description === 'context');
  return sym === undefined ? undefined : (db as unknown as Record<symbol, unknown>)[sym];
}

export function createWriteBatch(db: Db): WriteBatch {
  const context = binding ? nativeContext(db) : undefined;
  if (binding && context !== undefined) {
    try {
      return new NativeBatch(binding.batch_init(context), db);
    } catch { /* fall through to the public API */ }
  }
  return new ChainedBatch(db);
}
