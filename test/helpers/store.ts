// A real LevelDB event store with its appender, on an injected clock, for store-level tests.
import { join } from 'node:path';
import type { EdgeEvent } from '../../src/events/types.js';
import { Appender } from '../../src/pipeline/appender.js';
import { EventStore } from '../../src/store/event-store.js';
import { readEvents, type EventQuery } from '../../src/store/log-reader.js';
import type { RejectedRecord } from '../../src/store/rejected.js';
import { EventBus } from '../../src/pipeline/bus.js';

export const REORDER_WINDOW = 2_000;
export const DEDUP_WINDOW = 86_400_000;

/** A settable clock: `clock.now` is what the appender sees. */
export interface Clock { now: number }

export interface StoreRig {
  store: EventStore;
  appender: Appender;
  bus: EventBus;
  /** What the bus reported since the rig was opened. */
  seen: { duplicates: { source: string; id: string | null }[]; rejected: RejectedRecord[]; appended: EdgeEvent[] };
  /** Closes the appender (flushing it), then the store. */
  close: () => Promise<void>;
}

export function storeDir(dir: string): string {
  return join(dir, 'store');
}

export async function openRig(dir: string, clock: Clock, opts: { reorderWindow?: number; dedupWindow?: number; monotonic?: () => number } = {}): Promise<StoreRig> {
  const store = await EventStore.open(storeDir(dir));
  const bus = new EventBus();
  const seen: StoreRig['seen'] = { duplicates: [], rejected: [], appended: [] };
  bus.on('test', 'duplicate', (d) => seen.duplicates.push(d));
  bus.on('test', 'rejected', (r) => seen.rejected.push(r));
  bus.on('test', 'appended', (events) => seen.appended.push(...events));
  const appender = new Appender({
    store, bus, gatewayId: 'gw', durability: 'fsync',
    reorderWindow: opts.reorderWindow ?? REORDER_WINDOW,
    dedupWindow: opts.dedupWindow ?? DEDUP_WINDOW,
    now: () => clock.now,
    monotonic: opts.monotonic,
  });
  await appender.init();
  return {
    store, appender, bus, seen,
    close: async () => {
      await appender.close();
      await store.close();
    },
  };
}

export async function readAll(store: EventStore, q: EventQuery = {}): Promise<EdgeEvent[]> {
  const out: EdgeEvent[] = [];
  for await (const e of readEvents(store, q)) out.push(e);
  return out;
}

export const seqsOf = (events: readonly EdgeEvent[]): number[] => events.map((e) => e.seq);
export const idsOf = (events: readonly EdgeEvent[]): string[] => events.map((e) => e.id);

/** from, from + 1, …, to: the seqs a stretch of the log should hold. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
