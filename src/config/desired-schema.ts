// The desired-state document a cloud pushes to gateways (README "Fleets" › "Desired state"):
// a version and any of rule files, device profiles, routes and an allow-listed part of the
// config. The allow-list is the only config a remote party may touch: keys that tune what
// the gateway does with events (log level, upstream batching, retention, schedules), never
// where it keeps them or who may reach it (dataDir, the *Dir paths, broker, http, upstream
// url and credentials, clock), which stay in the local edgebus.yaml.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ConfigSchema, RouteSchema } from './schema.js';

const strict = { additionalProperties: false } as const;

/**
 * A config leaf as optional and without its default: the document sets only what it names,
 * so validation must not fill in the rest (that would also change the document's hash).
 */
function leaf<T extends TSchema>(schema: T) {
  const { default: _unused, ...rest } = schema as T & { default?: unknown };
  return Type.Optional(rest as unknown as T);
}

const C = ConfigSchema.properties;
const batch = C.upstream.properties.batch.properties;

export const DesiredConfigSchema = Type.Object({
  log: Type.Optional(Type.Object({ level: leaf(C.log.properties.level) }, strict)),
  upstream: Type.Optional(Type.Object({
    batch: Type.Optional(Type.Object({
      maxEvents: leaf(batch.maxEvents), maxBytes: leaf(batch.maxBytes), linger: leaf(batch.linger),
    }, strict)),
    inflight: leaf(C.upstream.properties.inflight),
  }, strict)),
  store: Type.Optional(Type.Object({ retention: leaf(C.store.properties.retention) }, strict)),
  schedules: Type.Optional(Type.Object({
    prune: leaf(C.schedules.properties.prune), heartbeat: leaf(C.schedules.properties.heartbeat),
  }, strict)),
}, strict);

/** The dotted config keys a document may set, for the README and error messages. */
export const DESIRED_CONFIG_KEYS: readonly string[] = [
  'log.level', 'upstream.batch.maxEvents', 'upstream.batch.maxBytes', 'upstream.batch.linger',
  'upstream.inflight', 'store.retention', 'schedules.prune', 'schedules.heartbeat',
];

/** File name → YAML text; names are checked apart so a bad one gets its own message. */
const YamlFiles = Type.Record(Type.String(), Type.String());

export const DesiredSchema = Type.Object({
  version: Type.Union([
    Type.Integer({ minimum: 0 }),
    Type.String({ minLength: 1, pattern: '^\\S+$', description: 'a version without spaces' }),
  ]),
  rules: Type.Optional(YamlFiles),
  devices: Type.Optional(YamlFiles),
  routes: Type.Optional(Type.Array(RouteSchema)),
  config: Type.Optional(DesiredConfigSchema),
}, strict);

export type DesiredDocument = Static<typeof DesiredSchema>;
export type DesiredConfig = Static<typeof DesiredConfigSchema>;
