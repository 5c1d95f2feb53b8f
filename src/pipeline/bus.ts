// A typed event bus whose listeners are owned: a component registers under its own name
// and stopping it removes exactly its listeners.
import type { EdgeEvent } from '../events/types.js';
import type { RejectedRecord } from '../store/rejected.js';
import type { EvictionSummary } from '../store/eviction.js';
import type { ClockChange } from '../time/clock.js';

export interface CommitStats {
  events: number;
  duplicates: number;
  rejected: number;
  staged: number;
  /** Callbacks the group acknowledged: each publish (and other submission) it held. */
  submissions: number;
  /** LevelDB batch write time, seconds */
  writeSeconds: number;
  /** From the group's first submission to its acknowledgement, seconds: the longest any of its submissions waited. */
  ackSeconds: number;
}

export interface BusEvents {
  /** Durable events, in log order, after their commit. */
  appended: readonly EdgeEvent[];
  rejected: RejectedRecord;
  duplicate: { source: string; id: string | null };
  committed: CommitStats;
  /** A commit failed; its submissions were refused (not acknowledged). */
  storeError: Error;
  /** The store was reopened after a failed commit and accepts writes again. */
  storeRecovered: null;
  /** Forwarded events deleted past store.retention. */
  pruned: number;
  /** Events deleted ahead of their retention to stay under store.maxBytes or above store.minFree free. */
  evicted: EvictionSummary;
  /** The broker refused a connection, a sign-in, a publish or a subscription (see broker-access.ts). */
  refused: { reason: string };
  /** Devices none of whose events the log holds any more left the device-state projection. */
  devicesForgotten: readonly string[];
  /** A rule's alert was stored (a replayed duplicate is not). */
  alert: StoredAlert;
  /** The rules engine evaluated one commit group's events (seconds of evaluation). */
  rulesEvaluated: { events: number; seconds: number };
  /** Upstream acknowledged a batch: seconds from its publish to the PUBACK. */
  batchAcknowledged: { events: number; seconds: number };
  /** The wall clock stepped, or how far it can be trusted changed. */
  clockChanged: ClockChange;
  /** A scheduled job ran. */
  jobRun: { job: string; ok: boolean };
}

/** An alert as the dashboard and metrics see it once stored. */
export interface StoredAlert {
  rule: string;
  state: 'raised' | 'cleared';
  group: string;
  severity: string;
  message: string;
  /** The alert event's timestamp. */
  time: string;
}

type Listener<K extends keyof BusEvents> = (payload: BusEvents[K]) => void;

export class EventBus {
  private readonly listeners = new Map<keyof BusEvents, { owner: string; fn: Listener<never> }[]>();

  on<K extends keyof BusEvents>(owner: string, name: K, fn: Listener<K>): void {
    const list = this.listeners.get(name) ?? [];
    list.push({ owner, fn: fn as Listener<never> });
    this.listeners.set(name, list);
  }

  removeOwner(owner: string): void {
    for (const [name, list] of this.listeners) this.listeners.set(name, list.filter((l) => l.owner !== owner));
  }

  emit<K extends keyof BusEvents>(name: K, payload: BusEvents[K]): void {
    const list = this.listeners.get(name);
    if (!list) return;
    for (const l of list) (l.fn as Listener<K>)(payload);
  }

}
