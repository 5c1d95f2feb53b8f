// The prune job (SPEC §2 `schedules.prune`): prunes forwarded events past `store.retention`
// (by receive time on the gateway clock: a wall clock stepped by a month ages nothing),
// evicts — after a long outage, or when the file system runs short of `store.minFree` —
// the oldest events, forwarded ones first, then unforwarded ones lowest priority first, to
// keep the store under `store.maxBytes` and the disk above minFree, then drops the id
// entries and clock segments of what is gone. Deleting events ahead of their retention is
// never silent: a SystemEvent says what went and why (a store-only gateway's "forwarded"
// events are its only copy), and it is forwarded at high priority once the link returns.
import { systemEventDraft } from '../events/system-event.js';
import type { EventDraft } from '../events/types.js';
import type { Appender } from '../pipeline/appender.js';
import { deleteSegments } from '../store/clock-log.js';
import type { EventStore } from '../store/event-store.js';
import { evictToFit, type DiskBound, type EvictionSummary } from '../store/eviction.js';
import { pruneForwarded } from '../store/retention.js';
import type { EventBus } from '../pipeline/bus.js';
import type { Logger } from '../util/log.js';

export interface MaintenanceOptions {
  store: EventStore;
  appender: Appender;
  bus: EventBus;
  log: Logger;
  gatewayId: string;
  retentionMs: number;
  maxBytes: number;
  /** The data dir's file system and store.minFree; null: not watched. */
  disk?: DiskBound | null;
  /** Highest seq safe upstream; the last seq when the gateway is store-only. */
  forwardedThrough: () => number;
}

export interface MaintenanceResult {
  idsPruned: number;
  /** Devices none of whose events the log holds any more: gone from the device-state projection. */
  devicesRemoved: string[];
  pruned: number;
  eviction: EvictionSummary | null;
}

export async function maintainStore(opts: MaintenanceOptions): Promise<MaintenanceResult> {
  const { store, appender, bus, log } = opts;
  const now = appender.clock.now();
  const { pruned } = await pruneForwarded(store, { forwardedThrough: opts.forwardedThrough(), retentionMs: opts.retentionMs, now });
  if (pruned > 0) bus.emit('pruned', pruned);
  const disk = opts.disk ?? null;
  const eviction = await evictToFit(store, {
    maxBytes: opts.maxBytes, forwardedThrough: opts.forwardedThrough(), disk,
    // Durable before the first delete: a hole in the log is never unaccounted for.
    announce: async (plan) => {
      await appender.append(evictionNotice(opts.gatewayId, plan, disk?.minFree ?? null, appender.clock.now()));
    },
  });
  if (eviction.evicted > 0 || eviction.forwarded > 0) {
    bus.emit('evicted', eviction);
    const why = eviction.cause === 'disk-free'
      ? `free space on the data dir's file system under store.minFree (${eviction.freeBytesBefore} bytes free)`
      : 'store over store.maxBytes';
    log.warn({ ...eviction }, `${why}: evicted ${eviction.evicted} unforwarded events, lowest priority first, and ${eviction.forwarded} forwarded (or store-only) ones ahead of their retention`);
  }
  // Read before the log's head: an empty log then means everything up to here was pruned.
  const next = appender.committedSeq + 1;
  const first = (await store.firstSeq()) || next;
  const idsPruned = await appender.idIndex.prune(first);
  await deleteSegments(store, appender.timeline.dropBefore(first));
  const devicesRemoved = appender.forgetDevicesBefore(first);
  if (devicesRemoved.length) {
    log.info({ devices: devicesRemoved }, `${devicesRemoved.length} devices left the device state: the log holds none of their events any more`);
    bus.emit('devicesForgotten', devicesRemoved);
  }
  return { idsPruned, devicesRemoved, pruned, eviction: eviction.evicted > 0 || eviction.forwarded > 0 ? eviction : null };
}

/** Written before the deletes, so it says what goes and why, not what it gave back. */
function evictionNotice(gatewayId: string, e: EvictionSummary, minFree: number | null, now: number): EventDraft {
  return systemEventDraft(gatewayId, {
    kind: 'eviction', cause: e.cause, evicted: e.evicted, byPriority: { ...e.byPriority }, fromSeq: e.fromSeq, toSeq: e.toSeq,
    forwarded: e.forwarded, forwardedFromSeq: e.forwardedFromSeq, forwardedToSeq: e.forwardedToSeq,
    bytesBefore: e.bytesBefore, freeBytesBefore: e.freeBytesBefore, minFree,
  }, now, 'high');
}
