// The one schema of edgebus.yaml: defaults, validation and env overrides all come from here.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EVENT_TYPES } from '../events/types.js';
import { LOG_FORMATS, LOG_LEVELS } from '../util/log.js';
import { HomeAssistantSchema } from './homeassistant-schema.js';
import { MatchSchema } from './match-schema.js';


const duration = (def: string, description: string) =>
  Type.Unsafe<string | number>({ type: ['string', 'number'], format: 'duration', default: def, description });
const size = (def: string, description: string) =>
  Type.Unsafe<string | number>({ type: ['string', 'number'], format: 'size', default: def, description });
const port = (def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def });
const filePath = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const strict = { additionalProperties: false } as const;
/** A string enum as one `enum` keyword, so a bad value gives one error listing the choices. */
const oneOf = <const T extends readonly string[]>(values: T, def?: T[number]) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(def === undefined ? {} : { default: def }) });

/** Which shape of an event a read returns: as published, or upcast to its schema's latest version. */
export const EVENT_VERSIONS = ['as-stored', 'latest'] as const;

const TopicFilters = Type.Array(Type.String({ minLength: 1 }));

export const BrokerUserSchema = Type.Object({
  username: Type.String({ minLength: 1 }),
  passwordHash: Type.Optional(Type.String({ minLength: 1 })),
  passwordFile: filePath('file holding the scrypt hash'),
  publish: Type.Optional(TopicFilters),
  subscribe: Type.Optional(TopicFilters),
}, strict);

export const IngestMappingSchema = Type.Object({
  topic: Type.String({ minLength: 1, description: 'topic template; {name} captures one level' }),
  type: oneOf(EVENT_TYPES),
  source: Type.Optional(Type.String({ minLength: 1, description: 'source template, default {device}' })),
  sensor: Type.Optional(Type.String({ minLength: 1, description: 'sensor template, default {sensor}' })),
}, strict);

const RetrySchema = Type.Object({
  initialDelay: duration('1s', 'first retry delay'),
  maxDelay: duration('5m', 'longest retry delay'),
  multiplier: Type.Number({ minimum: 1, default: 2 }),
  jitter: Type.Boolean({ default: true }),
  maxAttempts: Type.Integer({ minimum: 1, default: 10 }),
}, strict);

/** How a client of a broker (the upstream link, the sink) reaches it. */
const brokerLink = {
  url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', description: 'broker URL' }),
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  passwordFile: filePath('file holding the password'),
  ca: filePath('CA certificate (PEM)'),
  cert: filePath('client certificate (PEM)'),
  key: filePath('client key (PEM)'),
  rejectUnauthorized: Type.Boolean({ default: true }),
  keepalive: duration('30s', 'MQTT keepalive'),
};

/** Sparkplug ids are single topic levels: no /, + or # (Sparkplug 3.0 "Topic Namespace Elements"). */
const sparkplugId = (description: string) => Type.String({ minLength: 1, pattern: '^[^/#+]+$', description: `${description} (no /, + or #)` });

const UpstreamSchema = Type.Object({
  ...brokerLink,
  clientId: Type.Optional(Type.String({ minLength: 1 })),
  topic: Type.String({ minLength: 1, default: 'edgebus/{gatewayId}/events' }),
  commandTopic: Type.String({ minLength: 1, default: 'edgebus/{gatewayId}/commands/#' }),
  format: oneOf(['cbor', 'json', 'sparkplug'] as const, 'cbor'),
  sparkplug: Type.Optional(Type.Object({
    groupId: Type.Optional(sparkplugId('Sparkplug group id (default: the gateway id)')),
    edgeNodeId: Type.Optional(sparkplugId('Sparkplug edge node id (default: the gateway id)')),
    primaryHostId: Type.Optional(sparkplugId('host application whose STATE gates publishing')),
  }, strict)),
  batch: Type.Object({
    maxEvents: Type.Integer({ minimum: 1, default: 500 }),
    maxBytes: size('256kB', 'largest batch payload'),
    linger: duration('200ms', 'how long a partial batch waits'),
  }, { ...strict, default: {} }),
  inflight: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  retry: Type.Object(RetrySchema.properties, { ...strict, default: {} }),
  eventVersion: oneOf(EVENT_VERSIONS, 'as-stored'),
  desiredGrace: duration('5s', 'how long an applied desired-state document must keep the daemon healthy'),
}, strict);

const routeTopic = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

/** Conditions and topic templates are checked inside by the route compiler (load.ts), with their own messages. */
export const RouteSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1 })),
  match: Type.Optional(MatchSchema),
  where: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'a condition as in rules' })),
  upstream: routeTopic('upstream topic template, e.g. edgebus/{gatewayId}/{type}/{source}'),
  local: routeTopic('local broker topic template'),
  priority: Type.Integer({ default: 0 }),
  eventVersion: Type.Optional(oneOf(EVENT_VERSIONS)),
  sample: Type.Optional(Type.Object({
    every: Type.Optional(Type.Integer({ minimum: 1, description: 'keep every Nth event per source and sensor' })),
    interval: Type.Optional(Type.Unsafe<string | number>({ type: ['string', 'number'], format: 'duration', description: 'keep at most one event per interval per source and sensor' })),
  }, strict)),
}, strict);

/** `edgebus sink`, the cloud side (README "Fleets" › "The sink"): the broker as `upstream` reaches it, and PostgreSQL. */
const SinkSchema = Type.Object({
  ...brokerLink,
  clientId: Type.Optional(Type.String({ minLength: 1, description: 'stable per copy: its session (and unacknowledged batches) live under it' })),
  sessionExpiry: duration('1d', 'how long the broker keeps a stopped copy\'s session and its batches'),
  group: Type.String({ pattern: '^[^/#+]+$', default: 'edgebus', description: 'shared-subscription group' }),
  topic: Type.String({ minLength: 1, default: 'edgebus/+/events', description: 'topic filter of the batches' }),
  inflight: Type.Integer({ minimum: 1, maximum: 65535, default: 16, description: 'MQTT 5 receive maximum: batches the broker may send ahead on each connection' }),
  connections: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'MQTT connections (and PostgreSQL connections) per copy: batches written at once' }),
  postgres: Type.Object({
    url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'connection URL' })),
    host: Type.Optional(Type.String({ minLength: 1, description: 'host or unix socket directory' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    database: Type.Optional(Type.String({ minLength: 1 })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String()),
    passwordFile: filePath('file holding the password'),
  }, { ...strict, default: {} }),
  table: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,50}$', default: 'edgebus_events', description: 'a table name of lower-case letters, digits and _ (dead letters go to <table>_rejected)' }),
  retry: Type.Object({
    initialDelay: duration('500ms', 'first retry delay while PostgreSQL is unreachable'),
    maxDelay: duration('30s', 'longest retry delay'),
    multiplier: Type.Number({ minimum: 1, default: 2 }),
    jitter: Type.Boolean({ default: true }),
  }, { ...strict, default: {} }),
  http: Type.Object({
    host: Type.String({ default: '127.0.0.1' }),
    port: port(9110),
  }, { ...strict, default: {} }),
}, strict);

export const ConfigSchema = Type.Object({
  gatewayId: Type.Optional(Type.String({ minLength: 1, pattern: '^[^/#+\\s]+$', description: 'gateway id (no /, #, + or spaces)' })),
  dataDir: Type.String({ minLength: 1, default: './data' }),
  rulesDir: Type.String({ minLength: 1, default: './rules' }),
  devicesDir: Type.String({ minLength: 1, default: './devices' }),
  schemasDir: Type.String({ minLength: 1, default: './schemas', description: 'versioned payload schemas (YAML)' }),
  broker: Type.Object({
    host: Type.String({ default: '0.0.0.0' }),
    port: port(1883),
    tls: Type.Optional(Type.Object({
      port: port(8883),
      cert: Type.String({ minLength: 1 }),
      key: Type.String({ minLength: 1 }),
      ca: filePath('CA for client certificates'),
    }, strict)),
    maxPayload: size('64kB', 'largest accepted payload'),
    allowAnonymous: Type.Boolean({ default: true }),
    users: Type.Array(BrokerUserSchema, { default: [] }),
    limits: Type.Object({
      connections: Type.Integer({ minimum: 1, default: 1000, description: 'clients connected at once' }),
      publishRate: Type.Integer({ minimum: 0, default: 5000, description: 'messages a second one client may publish (0: no limit)' }),
      topicLevels: Type.Integer({ minimum: 1, maximum: 128, default: 16, description: 'levels in a published topic' }),
    }, { ...strict, default: {} }),
  }, { ...strict, default: {} }),
  ingest: Type.Array(IngestMappingSchema, {
    default: [
      { topic: 'sensors/{device}/{sensor}', type: 'DeviceData' },
      { topic: 'devices/{device}/status', type: 'DeviceStatus' },
    ],
  }),
  store: Type.Object({
    durability: oneOf(['fsync', 'write'] as const, 'fsync'),
    retention: duration('7d', 'how long forwarded events are kept'),
    maxBytes: size('1GB', 'store size cap'),
    // Not a share by default: what it keeps free is LevelDB's working space (a compaction
    // writes its output before it deletes its input), which does not grow with the card.
    minFree: Type.Unsafe<string | number>({
      type: ['string', 'number'], format: 'free-space', minimum: 0, default: '256MB',
      description: 'free space on the data dir\'s file system below which eviction starts',
    }),
    dedupWindow: duration('24h', 'how long an event id is remembered'),
    reorderWindow: duration('2s', 'how long an out-of-order event waits'),
  }, { ...strict, default: {} }),
  upstream: Type.Optional(UpstreamSchema),
  sink: Type.Optional(SinkSchema),
  homeassistant: HomeAssistantSchema,
  routes: Type.Array(RouteSchema, { default: [] }),
  http: Type.Object({
    host: Type.String({ default: '127.0.0.1' }),
    port: port(9100),
    token: Type.Optional(Type.String({ minLength: 1 })),
    tokenFile: filePath('file holding the token'),
  }, { ...strict, default: {} }),
  clock: Type.Object({
    sync: Type.String({ format: 'clock-sync', default: 'auto', description: 'how to tell that the wall clock is synchronised' }),
  }, { ...strict, default: {} }),
  schedules: Type.Object({
    prune: Type.String({ format: 'cron', default: '*/5 * * * *' }),
    heartbeat: Type.String({ format: 'cron', default: '* * * * *' }),
  }, { ...strict, default: {} }),
  log: Type.Object({
    level: oneOf(LOG_LEVELS, 'info'),
    format: oneOf(LOG_FORMATS, 'auto'),
  }, { ...strict, default: {} }),
}, strict);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawUpstream = Static<typeof UpstreamSchema>;
export type RawSink = Static<typeof SinkSchema>;
export type IngestMapping = Static<typeof IngestMappingSchema>;
export type BrokerUser = Static<typeof BrokerUserSchema>;
export type RawRoute = Static<typeof RouteSchema>;
export type { TSchema };
