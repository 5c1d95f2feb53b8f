// What the forwarder needs from the rest of the gateway and what it reports back: the
// link it publishes on, the options it is built with, its counters. Kept apart from the
// state machines so a test or another link (a second broker, a route) plugs in here.
import type { Logger } from '../util/log.js';
import type { EventVersion, UpstreamConfig } from '../config/types.js';
import type { EventStore } from '../store/event-store.js';
import type { Timeline } from '../time/timeline.js';
import type { EventBus } from '../pipeline/bus.js';
import type { EdgeEvent } from '../events/types.js';
import type { BatchItem } from './batch-encoding.js';
import type { PublishOutcome } from './link.js';

export type { PublishOutcome };

/** What the forwarder needs of the link: a QoS 1 publish that says how it ended. */
export interface UpstreamPort {
  readonly connected: boolean;
  /** The broker's Maximum Packet Size (MQTT 5 CONNACK), null when it set none. */
  readonly maxPacketSize: number | null;
  /** Resolves with the PUBACK's verdict; rejects when the link drops first. */
  publish(topic: string, payload: Buffer, contentType: string): Promise<PublishOutcome>;
}

export interface ForwarderOptions {
  store: EventStore;
  bus: EventBus;
  link: UpstreamPort;
  config: UpstreamConfig;
  gatewayId: string;
  /** The log's last durable seq: an event still being written is not readable yet. */
  lastSeq: () => number;
  log: Logger;
  /** The gateway clock (linger, ttl, ages); default: the wall clock. */
  now?: () => number;
  /** The clock's segments: event times for ttl and ages, corrected timestamps for the batches. */
  timeline?: Timeline;
  random?: () => number;
  /** The config's routes (routes/upstream-routing.ts); absent: every event goes to `config.topic`. */
  routing?: BatchRouting;
  /** Events in their schema's latest version (src/schemas), for `eventVersion: latest`; absent: sent as stored. */
  latest?: LatestVersion;
}

/** What the forwarder needs of the schema registry to send events in their latest version. */
export interface LatestVersion {
  /**
   * False when the stored bytes show the event needs no upcast: it is copied, never decoded.
   * True: the event is decoded and given to `event`.
   */
  mayNeedUpcast(bytes: Uint8Array): boolean;
  /** The event in its latest version; the same object when it is that already. */
  event(e: EdgeEvent): EdgeEvent;
}

/** One publish of a routed batch: a topic and its events. */
export interface TopicGroup {
  topic: string;
  /** In seq order: a topic's events leave in log order. */
  items: BatchItem[];
  /** The highest priority among the routes that put events in it. */
  priority: number;
  /** The routes' `eventVersion`; absent: the upstream's. */
  eventVersion?: EventVersion;
}

/** Which topics a batch goes out on: the routes, seen from the forwarder. */
export interface BatchRouting {
  /** Bytes budgeted for the topic of one publish (the packer's packet size limit). */
  readonly topicBytes: number;
  /** The batch's events by topic, in publish order; empty when every event stays local or was thinned out. */
  groups(items: readonly BatchItem[], timeOf: (e: EdgeEvent) => number): TopicGroup[];
  /** The cursor passed `through`: decisions kept for a resend can go. */
  passed(through: number): void;
}

export interface ForwarderCounters {
  /** Events acknowledged upstream. */
  forwarded: number;
  batches: number;
  /** Batch sends that were refused and scheduled again. */
  retries: number;
  /** Events not sent because their ttl had passed. */
  expired: number;
  /** Events upstream refused for good, now in the DLQ. */
  deadLettered: number;
}
