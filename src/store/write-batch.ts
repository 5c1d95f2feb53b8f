// The group commit's write batch. abstract-level's chained batch spends ~2.5 µs of JS per
// put with a `{ sublevel }` option (options normalised, an op object spread, encodings
// looked up) and ~1 µs without — more than the rest of the pipeline per event — and its
// native batch is only freed by GC, so RSS grew by a batch per commit under load. Here one
// native LevelDB WriteBatch is driven through classic-level's binding and reused (Clear
// keeps its capacity), with keys already carrying their sublevel's prefix. Where the
// binding is not reachable (another abstract-level implementation, or a classic-level
// upgrade that moved it: the daemon warns at start), abstract-level's public batch does
// the same job, slower.
import { createRequire } from 'node:module';
import type { AbstractBatchOperation } from 'abstract-level';
import type { ClassicLevel } from 'classic-level';

interface Binding {
  batch_init(db: unknown): unknown;
  batch_put(batch: unknown, key: string, value: string | Uint8Array): void;
  batch_del(batch: unknown, key: string): void;
  batch_clear(batch: unknown): void;
  batch_write(batch: unknown, options: { sync: boolean }): Promise<void>;
}

/** What NativeBatch calls; each is a NAPI_EXPORT_FUNCTION of classic-level's binding.cc. */
export const BINDING_FUNCTIONS = ['batch_init', 'batch_put', 'batch_del', 'batch_clear', 'batch_write'] as const;

export interface WriteBatch {
  /** `key` includes the sublevel's prefix (its `prefix`); outside src/store, LogWriter fills the batch. */
  put(key: string, value: string | Uint8Array): void;
  del(key: string): void;
  /** Number of operations since the last write. */
  readonly length: number;
  /** Writes atomically and empties the batch for the next group, failed or not. */
  write(sync: boolean): Promise<void>;
  /** Drops what was added since the last write. */
  clear(): void;
}

const require = createRequire(import.meta.url);

/** `classic-level 3.0.0`: what a fallback's reason names, so an upgrade that moved the internals is plain. */
export const CLASSIC_LEVEL = (() => {
  try {
    return `classic-level ${(require('classic-level/package.json') as { version: string }).version}`;
  } catch {
    return 'classic-level (version unreadable)';
  }
})();

/** The binding, or why it cannot be driven. */
function loadBinding(): Binding | string {
  let loaded: Partial<Record<string, unknown>>;
  try {
    loaded = require('classic-level/binding.js') as Partial<Record<string, unknown>>;
  } catch (err) {
    return `classic-level/binding.js does not load (${err instanceof Error ? err.message : String(err)})`;
  }
  // All five, not the first two: a binding without batch_write would fail every commit
  // instead of falling back.
  const missing = BINDING_FUNCTIONS.filter((name) => typeof loaded[name] !== 'function');
  return missing.length ? `classic-level/binding.js has no ${missing.join(', ')}` : (loaded as unknown as Binding);
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
  constructor(private readonly binding: Binding, private readonly native: unknown, private readonly db: Db) {}

  put(key: string, value: string | Uint8Array): void {
    this.binding.batch_put(this.native, key, value);
    this.length++;
  }

  del(key: string): void {
    this.binding.batch_del(this.native, key);
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
      await this.binding.batch_write(this.native, { sync });
    } finally {
      this.clear();
    }
  }

  clear(): void {
    this.binding.batch_clear(this.native);
    this.length = 0;
  }
}

type Db = ClassicLevel<string, string>;

type Operation = AbstractBatchOperation<Db, string, string>;

/**
 * The operations held in JS and written with abstract-level's public batch(operations).
 * Not a chained batch: abstract-level closes those with the database, after which their
 * put throws and the batch stays unusable across a reopen (the conformance suite,
 * test/store/write-batch.suite.ts, showed it). An array of operations outlives a reopen,
 * and a write on a closed database is refused like the native batch's, emptying it.
 */
class FallbackBatch implements WriteBatch {
  private ops: Operation[] = [];
  constructor(private readonly db: Db) {}

  get length(): number {
    return this.ops.length;
  }

  put(key: string, value: string | Uint8Array): void {
    // A copy: the caller reuses its buffer at once (CborWriter.since), and this array keeps
    // the value until write.
    if (typeof value === 'string') this.ops.push({ type: 'put', key, value });
    else this.ops.push({ type: 'put', key, value: new Uint8Array(value) as unknown as string, valueEncoding: 'view' });
  }

  del(key: string): void {
    this.ops.push({ type: 'del', key });
  }

  async write(sync: boolean): Promise<void> {
    const ops = this.ops;
    this.ops = [];
    await this.db.batch(ops, { sync });
  }

  clear(): void {
    this.ops = [];
  }
}

/** The native context of an open classic-level database (a private field, found by name). */
function nativeContext(db: Db): unknown {
  const sym = Object.getOwnPropertySymbols(db).find((s) => s.description === 'context');
  return sym === undefined ? undefined : (db as unknown as Record<symbol, unknown>)[sym];
}

/** A native batch on `db`, or why there cannot be one: the package, its version, what moved. */
function tryNative(db: Db): NativeBatch | string {
  if (typeof binding === 'string') return `${CLASSIC_LEVEL}: ${binding}`;
  const context = nativeContext(db);
  if (context === undefined) return `${CLASSIC_LEVEL}: the database has no 'context' symbol (the handle classic-level passes to its binding)`;
  try {
    return new NativeBatch(binding, binding.batch_init(context), db);
  } catch (err) {
    return `${CLASSIC_LEVEL}: batch_init refused the database's 'context' (${err instanceof Error ? err.message : String(err)})`;
  }
}

export function createWriteBatch(db: Db): WriteBatch {
  const native = tryNative(db);
  return typeof native === 'string' ? new FallbackBatch(db) : native;
}

/** Why createWriteBatch falls back to abstract-level's public batch on `db`, or null when it does not. */
export function nativeBatchUnavailable(db: Db): string | null {
  const native = tryNative(db);
  return typeof native === 'string' ? native : null;
}

/** The native batch only: throws, with the reason, where createWriteBatch would fall back. */
export function nativeWriteBatch(db: Db): WriteBatch {
  const native = tryNative(db);
  if (typeof native === 'string') throw new Error(`no native write batch: ${native}`);
  return native;
}

/** What createWriteBatch falls back to, made on purpose (the conformance suite runs it too). */
export function fallbackWriteBatch(db: Db): WriteBatch {
  return new FallbackBatch(db);
}
