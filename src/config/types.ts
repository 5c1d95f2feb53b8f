// The resolved configuration: defaults applied, durations in ms, sizes in bytes, paths absolute.
import type { EventType } from '../events/types.js';
import type { IngestMapping } from './schema.js';
import type { SyncSetting } from '../time/sync.js';
import type { BackoffPolicy } from '../util/backoff.js';
import type { LogOptions } from '../util/log.js';
import type { SensorDeviceClass, SensorStateClass } from './homeassistant-schema.js';
import type { FreeSpace } from './units.js';

export interface RetryPolicy extends BackoffPolicy {
  maxAttempts: number;
}

/** How a client of a broker (the upstream link, the sink) reaches it: paths resolved, the password read. */
export interface BrokerLink {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  /** ms */
  keepalive: number;
}

export interface UpstreamConfig extends BrokerLink {
  topic: string;
  commandTopic: string;
  format: 'cbor' | 'json' | 'sparkplug';
  /** The edge node's identity (README "Sparkplug B"); set when `format` is `sparkplug`, absent otherwise. */
  sparkplug?: SparkplugConfig;
  batch: { maxEvents: number; maxBytes: number; linger: number };
  inflight: number;
  retry: RetryPolicy;
  /** The shape events are sent in: as stored (absent), or upcast to their schema's latest version. */
  eventVersion?: EventVersion;
  /** ms an applied desired-state document must keep the daemon healthy; absent: 5 s (README "Desired state"). */
  desiredGrace?: number;
}

/** The upstream as the batch forwarder sends to it: events in batches, CBOR or JSON. */
export type BatchUpstreamConfig = UpstreamConfig & { format: 'cbor' | 'json' };

export interface SparkplugConfig {
  groupId: string;
  edgeNodeId: string;
  /** Publish only while this host application's STATE says online; null: always. */
  primaryHostId: string | null;
}

/** `sink:` resolved (see config/schema.ts SinkSchema); `postgres` as the pg client takes it. */
export interface SinkConfig extends BrokerLink {
  sessionExpiry: number;
  group: string;
  topic: string;
  inflight: number;
  /** Members of the group this copy runs, each its own session: the first under `clientId`, the others under `clientId-c2` … */
  connections: number;
  postgres: { connectionString?: string; host?: string; port?: number; database?: string; user?: string; password?: string };
  table: string;
  retry: BackoffPolicy;
  http: { host: string; port: number };
}

/** A sensor's Home Assistant classes and unit as the config sets them; null: none, absent: derived. */
export interface HaSensorOverride {
  deviceClass?: SensorDeviceClass | null;
  stateClass?: SensorStateClass | null;
  unit?: string | null;
}

/** `homeassistant:` (config/homeassistant-schema.ts). */
export interface HomeAssistantConfig {
  enabled: boolean;
  prefix: string;
  broker: 'local' | 'upstream';
  /** Keyed `sensor` or `device/sensor`. */
  sensors: { [key: string]: HaSensorOverride };
}

/** See config/schema.ts EVENT_VERSIONS. */
export type EventVersion = 'as-stored' | 'latest';

/** How a route thins its events, per source and sensor: every Nth, or one per interval (ms). */
export type SampleSpec = { every: number } | { intervalMs: number };

/** One entry of `routes:` (see routes/), match and where as the rules write them. */
export interface RouteConfig {
  /** `name:` or `routes.<i>`, for logs. */
  name: string;
  match: { types: EventType[] | null; sensors: string[] | null; sources: string[] | null };
  where: Record<string, unknown> | null;
  destination: 'upstream' | 'local';
  /** Topic template, `{gatewayId}` filled in. */
  topic: string;
  priority: number;
  sample: SampleSpec | null;
  /** Overrides `upstream.eventVersion` for this route's events; absent or null: the upstream's. */
  eventVersion?: EventVersion | null;
}

/** A broker user with its hash read (from passwordHash or passwordFile); null: client certificate only. */
export interface BrokerUserConfig {
  username: string;
  passwordHash: string | null;
  /** Topic filters ({username} allowed); undefined: every topic. */
  publish?: string[];
  subscribe?: string[];
}

export interface Config {
  gatewayId: string;
  dataDir: string;
  rulesDir: string;
  devicesDir: string;
  schemasDir: string;
  broker: {
    host: string;
    port: number;
    tls?: { port: number; cert: string; key: string; ca?: string };
    maxPayload: number;
    allowAnonymous: boolean;
    users: BrokerUserConfig[];
    limits: { connections: number; publishRate: number; topicLevels: number };
  };
  ingest: IngestMapping[];
  store: {
    durability: 'fsync' | 'write';
    retention: number;
    maxBytes: number;
    /** Free space to keep on the data dir's file system; `{ bytes: 0 }`: not watched. */
    minFree: FreeSpace;
    dedupWindow: number;
    reorderWindow: number;
  };
  upstream?: UpstreamConfig;
  sink?: SinkConfig;
  homeassistant: HomeAssistantConfig;
  /** Empty: every event takes the default route (upstream.topic). */
  routes: RouteConfig[];
  http: { host: string; port: number; token?: string };
  clock: { sync: SyncSetting };
  schedules: { prune: string; heartbeat: string };
  log: LogOptions;
}
