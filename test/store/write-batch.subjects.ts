// The WriteBatch implementations the conformance suite runs against, by name: the suite's
// crash fixture runs in a child process and finds its subject here.
import { EventStore } from '../../src/store/event-store.js';
import { fallbackWriteBatch, createWriteBatch, nativeWriteBatch, type WriteBatch } from '../../src/store/write-batch.js';
import type { BatchStore, WriteBatchSubject } from './write-batch.suite.js';

type Db = EventStore['db'];

/** classic-level answers with Buffers; the suite compares plain bytes. */
const plain = (v: Uint8Array | undefined): Uint8Array | undefined => (v === undefined ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

/** The event store, its batches made by `make`. */
function onEventStore(name: string, make: (db: Db) => WriteBatch): WriteBatchSubject {
  return {
    name,
    async open(dir: string): Promise<BatchStore> {
      const store = await EventStore.open(dir);
      const prefixes = [store.log.prefix, store.ids.prefix, store.streams.prefix] as const;
      return {
        prefixes,
        batch: () => make(store.db),
        read: async (key) => plain(await store.db.get<string, Uint8Array>(key, { valueEncoding: 'view' })),
        async scan() {
          // One iterator reads from one implicit snapshot: a consistent view of every sublevel.
          const entries = await store.db.iterator<string, Uint8Array>({ gte: '!', lt: '"', valueEncoding: 'view' }).all();
          return new Map(entries.filter(([k]) => prefixes.some((p) => k.startsWith(p))).map(([k, v]) => [k, plain(v)!]));
        },
        closeHandle: () => store.db.close(),
        reopen: () => store.reopen(),
        close: () => store.close(),
      };
    },
  };
}

export const SUBJECTS: readonly WriteBatchSubject[] = [
  /** What the store uses with classic-level: its binding's batch, reused. */
  onEventStore('native', nativeWriteBatch),
  /** What the store falls back to where the binding is out of reach. */
  onEventStore('fallback', fallbackWriteBatch),
  /** Whichever the store picks: the one the daemon runs. */
  onEventStore('createWriteBatch', createWriteBatch),
];

export function subjectNamed(name: string): WriteBatchSubject {
  const subject = SUBJECTS.find((s) => s.name === name);
  if (!subject) throw new Error(`no WriteBatch subject named ${name}: ${SUBJECTS.map((s) => s.name).join(', ')}`);
  return subject;
}
