// Finds, reads, overrides (EDGEBUS_* env) and validates the configuration.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseYamlScalar } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { mergeOverlay, readOverlay } from './desired-overlay.js';
import { ConfigSchema, type RawConfig, type RawRoute, type RawSink, type RawUpstream } from './schema.js';
import type { BrokerLink, Config, RouteConfig, SinkConfig } from './types.js';
import { parseDuration, parseFreeSpace, parseSize } from './units.js';
import { lineOf, parseYaml, SchemaError, validateAgainst, type ParsedYaml, type SchemaIssue } from './validate.js';
import { isPasswordHash } from '../security/password.js';
import type { SyncSetting } from '../time/sync.js';
import { validTopicFilter } from '../security/topic-acl.js';

export const DEFAULT_CONFIG_FILE = 'edgebus.yaml';
export const ENV_PREFIX = 'EDGEBUS_';

export interface LoadOptions {
  /** --config FILE */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Compiles a route as the daemon will (its conditions and templates are the rules'
   * language, above the config): `edgebus check` and `start` pass routes/config-check.ts.
   */
  routeCheck?: RouteCheck;
}

/** A problem at a path of the config (for its file:line). */
export interface ConfigProblem {
  path: readonly (string | number)[];
  message: string;
}

/** Checks one route, resolved, that the schema and the cross-checks found sound. */
export type RouteCheck = (route: RouteConfig, gatewayId: string, path: readonly (string | number)[]) => ConfigProblem | null;

export interface LoadedConfig {
  config: Config;
  /** The file read, or null when running on built-in defaults. */
  file: string | null;
  warnings: string[];
}

/** --config FILE, else ./edgebus.yaml if present, else $EDGEBUS_CONFIG, else none. */
export function resolveConfigFile(opts: LoadOptions = {}): string | null {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  if (opts.file) return resolve(cwd, opts.file);
  const local = resolve(cwd, DEFAULT_CONFIG_FILE);
  if (existsSync(local)) return local;
  if (env.EDGEBUS_CONFIG) return resolve(cwd, env.EDGEBUS_CONFIG);
  return null;
}

const envName = (path: readonly string[]) =>
  ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');

interface EnvLeaf { path: string[]; name: string; schema: TSchema }

/** Every leaf key of the schema with its variable name: EDGEBUS_STORE_REORDER_WINDOW … */
function envLeaves(schema: TSchema, path: string[] = []): EnvLeaf[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (schema.type === 'object' && props) {
    return Object.entries(props).flatMap(([k, s]) => envLeaves(s, [...path, k]));
  }
  return [{ path, name: envName(path), schema }];
}
const ENV_LEAVES = envLeaves(ConfigSchema);

function applyEnv(data: Record<string, unknown>, env: NodeJS.ProcessEnv, sources: Map<string, string>): void {
  for (const leaf of ENV_LEAVES) {
    const raw = env[leaf.name];
    if (raw === undefined) continue;
    // A string key keeps the text as typed ("007" stays "007"); others read it as YAML.
    const types = ([] as unknown[]).concat(leaf.schema.type ?? []);
    let value: unknown = raw;
    if (!(types.length === 1 && types[0] === 'string')) {
      try { value = parseYamlScalar(raw); } catch { value = raw; }
    }
    let node = data;
    for (const seg of leaf.path.slice(0, -1)) {
      if (node[seg] === null || typeof node[seg] !== 'object') node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
    node[leaf.path[leaf.path.length - 1]] = value;
    sources.set(leaf.path.join('.'), leaf.name);
  }
}

const listOf = <T>(v: T | T[] | undefined): T[] | null => (v === undefined ? null : Array.isArray(v) ? [...new Set(v)] : [v]);

/** A schema-valid route with exactly one destination (crossChecks) → RouteConfig. */
function resolveRoute(r: RawRoute, i: number, gatewayId: string): RouteConfig {
  const destination = r.upstream !== undefined ? 'upstream' : 'local';
  const interval = r.sample?.interval;
  return {
    name: r.name ?? `routes.${i}`,
    match: { types: listOf(r.match?.type), sensors: listOf(r.match?.sensor), sources: listOf(r.match?.source) },
    where: r.where ?? null,
    destination,
    topic: (r.upstream ?? r.local ?? '').replaceAll('{gatewayId}', gatewayId),
    priority: r.priority,
    sample: r.sample === undefined ? null : interval !== undefined ? { intervalMs: parseDuration(interval) } : { every: r.sample.every ?? 1 },
    eventVersion: r.eventVersion ?? null,
  };
}

/** The fields every broker client has (see BrokerLink): files relative to the config's folder, durations in ms. */
function resolveLink(raw: RawUpstream | RawSink, clientId: string, secret: (v: string | undefined, f: string | undefined) => string | undefined, cwd: string): BrokerLink {
  return {
    url: raw.url,
    clientId,
    username: raw.username,
    password: secret(raw.password, raw.passwordFile),
    ca: raw.ca && resolve(cwd, raw.ca),
    cert: raw.cert && resolve(cwd, raw.cert),
    key: raw.key && resolve(cwd, raw.key),
    rejectUnauthorized: raw.rejectUnauthorized,
    keepalive: parseDuration(raw.keepalive),
  };
}

function resolveSink(sk: RawSink, gatewayId: string, secret: (v: string | undefined, f: string | undefined) => string | undefined, cwd: string): SinkConfig {
  const pg = sk.postgres;
  return {
    ...resolveLink(sk, sk.clientId ?? `edgebus-sink-${gatewayId}`, secret, cwd),
    sessionExpiry: parseDuration(sk.sessionExpiry),
    group: sk.group,
    topic: sk.topic,
    inflight: sk.inflight,
    connections: sk.connections,
    // Unset fields stay unset: pg then reads PGHOST, PGPASSWORD … as libpq does.
    postgres: { connectionString: pg.url, host: pg.host, port: pg.port, database: pg.database, user: pg.user, password: secret(pg.password, pg.passwordFile) },
    table: sk.table,
    retry: { ...sk.retry, initialDelay: parseDuration(sk.retry.initialDelay), maxDelay: parseDuration(sk.retry.maxDelay) },
    http: sk.http,
  };
}

function resolveConfig(raw: RawConfig, cwd: string): Config {
  const gatewayId = raw.gatewayId ?? hostname().replace(/[/#+\s]/g, '-');
  const up = raw.upstream;
  const secret = (value: string | undefined, file: string | undefined) =>
    value ?? (file ? readFileSync(resolve(cwd, file), 'utf8').trim() : undefined);
  return {
    gatewayId,
    dataDir: resolve(cwd, raw.dataDir),
    rulesDir: resolve(cwd, raw.rulesDir),
    devicesDir: resolve(cwd, raw.devicesDir),
    schemasDir: resolve(cwd, raw.schemasDir),
    broker: {
      ...raw.broker,
      maxPayload: parseSize(raw.broker.maxPayload),
      users: raw.broker.users.map((u) => ({
        username: u.username, passwordHash: secret(u.passwordHash, u.passwordFile) ?? null, publish: u.publish, subscribe: u.subscribe,
      })),
      tls: raw.broker.tls && { ...raw.broker.tls, cert: resolve(cwd, raw.broker.tls.cert), key: resolve(cwd, raw.broker.tls.key), ca: raw.broker.tls.ca && resolve(cwd, raw.broker.tls.ca) },
    },
    ingest: raw.ingest,
    store: {
      durability: raw.store.durability,
      retention: parseDuration(raw.store.retention),
      maxBytes: parseSize(raw.store.maxBytes),
      minFree: parseFreeSpace(raw.store.minFree),
      dedupWindow: parseDuration(raw.store.dedupWindow),
      reorderWindow: parseDuration(raw.store.reorderWindow),
    },
    upstream: up && {
      ...resolveLink(up, up.clientId ?? gatewayId, secret, cwd),
      topic: up.topic.replaceAll('{gatewayId}', gatewayId),
      commandTopic: up.commandTopic.replaceAll('{gatewayId}', gatewayId),
      format: up.format,
      ...(up.format === 'sparkplug' && {
        sparkplug: {
          groupId: up.sparkplug?.groupId ?? gatewayId,
          edgeNodeId: up.sparkplug?.edgeNodeId ?? gatewayId,
          primaryHostId: up.sparkplug?.primaryHostId ?? null,
        },
      }),
      batch: { maxEvents: up.batch.maxEvents, maxBytes: parseSize(up.batch.maxBytes), linger: parseDuration(up.batch.linger) },
      inflight: up.inflight,
      retry: { ...up.retry, initialDelay: parseDuration(up.retry.initialDelay), maxDelay: parseDuration(up.retry.maxDelay) },
      eventVersion: up.eventVersion,
      desiredGrace: parseDuration(up.desiredGrace),
    },
    sink: raw.sink && resolveSink(raw.sink, gatewayId, secret, cwd),
    homeassistant: raw.homeassistant,
    routes: raw.routes.map((r, i) => resolveRoute(r, i, gatewayId)),
    http: { host: raw.http.host, port: raw.http.port, token: secret(raw.http.token, raw.http.tokenFile) },
    clock: { sync: raw.clock.sync as SyncSetting },
    schedules: raw.schedules,
    log: raw.log,
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Checks the schema cannot express. */
function crossChecks(raw: RawConfig, file: string, parsed: ParsedYaml | null, routeCheck: RouteCheck | undefined): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  // edgebus/fleet/config/desired is every gateway's: a gateway named so would take it for its own.
  if (raw.gatewayId === 'fleet') issues.push({ file, line: parsed && lineOf(parsed, ['gatewayId']), key: 'gatewayId', message: '"fleet" is reserved (edgebus/fleet/config/desired is the fleet-wide desired-state topic); choose another id' });
  if (!LOOPBACK.test(raw.http.host) && !raw.http.token && !raw.http.tokenFile) {
    issues.push({ file, line: parsed && lineOf(parsed, ['http', 'host']), key: 'http.token', message: `required when http.host (${raw.http.host}) is not loopback` });
  }
  const seen = new Map<string, number>();
  raw.broker.users.forEach((u, i) => {
    const at = (...rest: (string | number)[]) => ({ file, line: parsed && lineOf(parsed, ['broker', 'users', i, ...rest]) });
    if (seen.has(u.username)) issues.push({ ...at('username'), key: `broker.users.${i}.username`, message: `duplicate username ${JSON.stringify(u.username)} (also broker.users.${seen.get(u.username)})` });
    seen.set(u.username, i);
    if (u.passwordHash !== undefined && u.passwordFile !== undefined) {
      issues.push({ ...at('passwordFile'), key: `broker.users.${i}.passwordFile`, message: 'give passwordHash or passwordFile, not both' });
    } else if (u.passwordHash === undefined && u.passwordFile === undefined && !raw.broker.tls?.ca) {
      issues.push({ ...at(), key: `broker.users.${i}`, message: 'expected passwordHash or passwordFile (a user without one can only sign in with a client certificate, which needs broker.tls.ca)' });
    }
    if (u.passwordHash !== undefined && !isPasswordHash(u.passwordHash)) {
      issues.push({ ...at('passwordHash'), key: `broker.users.${i}.passwordHash`, message: 'expected a scrypt hash made by `edgebus passwd` (scrypt$N$r$p$salt$key), never the password itself' });
    }
    for (const list of ['publish', 'subscribe'] as const) {
      (u[list] ?? []).forEach((filter, j) => {
        const why = validTopicFilter(filter);
        if (why !== null) issues.push({ ...at(list, j), key: `broker.users.${i}.${list}.${j}`, message: `${why}, got ${JSON.stringify(filter)}` });
      });
    }
  });
  if (raw.homeassistant.enabled && raw.homeassistant.broker === 'upstream' && raw.upstream === undefined) {
    issues.push({ file, line: parsed && lineOf(parsed, ['homeassistant', 'broker']), key: 'homeassistant.broker', message: 'upstream needs the upstream section (upstream.url); use local for the embedded broker' });
  }
  // Home Assistant reads the gateway's availability from the link's Will; under Sparkplug B
  // that Will is the NDEATH, so the entities could never be marked available.
  if (raw.homeassistant.enabled && raw.homeassistant.broker === 'upstream' && raw.upstream?.format === 'sparkplug') {
    issues.push({ file, line: parsed && lineOf(parsed, ['homeassistant', 'broker']), key: 'homeassistant.broker', message: 'upstream cannot be used with upstream.format: sparkplug (the link\'s Will is the NDEATH, not the gateway status Home Assistant reads); use local' });
  }
  issues.push(...routeIssues(raw, file, parsed, routeCheck));
  issues.push(...sparkplugIssues(raw, file, parsed));
  return issues;
}

/** Sparkplug B has its own topics: the `sparkplug` section needs its format, and routes cannot rename its topics. */
function sparkplugIssues(raw: RawConfig, file: string, parsed: ParsedYaml | null): SchemaIssue[] {
  const up = raw.upstream;
  if (!up) return [];
  const issues: SchemaIssue[] = [];
  if (up.sparkplug !== undefined && up.format !== 'sparkplug') {
    issues.push({ file, line: parsed && lineOf(parsed, ['upstream', 'sparkplug']), key: 'upstream.sparkplug', message: `applies to format: sparkplug only (format is ${up.format})` });
  }
  if (up.format !== 'sparkplug') return issues;
  raw.routes.forEach((r, i) => {
    if (r.upstream === undefined) return;
    issues.push({ file, line: parsed && lineOf(parsed, ['routes', i, 'upstream'], true), key: `routes.${i}.upstream`, message: 'upstream routes need upstream.format cbor or json (Sparkplug B names its own topics); use a local route or drop it' });
  });
  return issues;
}

/**
 * What the route schema cannot say: one destination, a sample of one kind, conditions and
 * templates that compile. Exported for desired-state documents, whose `routes` sit at the
 * same path as the config's.
 */
export function routeIssues(raw: Pick<RawConfig, 'routes' | 'gatewayId'> & { upstream?: unknown }, file: string, parsed: ParsedYaml | null, routeCheck: RouteCheck | undefined): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const names = new Map<string, number>();
  raw.routes.forEach((r, i) => {
    const issue = (path: (string | number)[], message: string): void => {
      issues.push({ file, line: parsed && lineOf(parsed, ['routes', i, ...path], true), key: ['routes', i, ...path].join('.'), message });
    };
    if (r.name !== undefined) {
      if (names.has(r.name)) issue(['name'], `duplicate route name ${JSON.stringify(r.name)} (also routes.${names.get(r.name)})`);
      names.set(r.name, i);
    }
    const destinations = (['upstream', 'local'] as const).filter((k) => r[k] !== undefined);
    if (destinations.length !== 1) {
      issue(destinations.length ? ['local'] : [], `expected exactly one destination, upstream: TOPIC or local: TOPIC (got ${destinations.length ? 'both' : 'none'})`);
      return;
    }
    if (r.upstream !== undefined && raw.upstream === undefined) issue(['upstream'], 'an upstream route needs the upstream section (upstream.url)');
    if (r.local !== undefined && r.eventVersion !== undefined) issue(['eventVersion'], 'eventVersion applies to upstream routes only (a local route publishes events as stored)');
    if (r.sample !== undefined) {
      const kinds = (['every', 'interval'] as const).filter((k) => r.sample![k] !== undefined);
      if (kinds.length !== 1) {
        issue(['sample'], `expected exactly one of every (every Nth event) or interval (at most one per interval), got ${kinds.length ? 'both' : 'none'}`);
        return;
      }
      if (r.sample.interval !== undefined && !(parseDuration(r.sample.interval) > 0)) issue(['sample', 'interval'], `must be longer than 0 (got ${JSON.stringify(r.sample.interval)})`);
    }
    const gatewayId = raw.gatewayId ?? 'gateway';
    const problem = routeCheck?.(resolveRoute(r, i, gatewayId), gatewayId, ['routes', i]);
    if (problem) issues.push({ file, line: parsed && lineOf(parsed, problem.path, true), key: problem.path.join('.'), message: problem.message });
    });
  return issues;
}

/** Files that hold secrets must not be readable by every user of the machine. */
function secretFileWarnings(raw: RawConfig, cwd: string): string[] {
  const files = [
    raw.broker.tls?.key, raw.http.tokenFile, raw.upstream?.passwordFile, raw.upstream?.key,
    raw.sink?.passwordFile, raw.sink?.key, raw.sink?.postgres.passwordFile,
    ...raw.broker.users.map((u) => u.passwordFile),
  ].filter((f): f is string => f !== undefined).map((f) => resolve(cwd, f));
  const out: string[] = [];
  for (const f of files) {
    try {
      if ((statSync(f).mode & 0o004) !== 0) out.push(`${f} is readable by other users and holds a secret; chmod 640 it`);
    } catch { /* a missing file fails where it is read */ }
  }
  return out;
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const file = resolveConfigFile(opts);
  const warnings: string[] = [];
  let data: Record<string, unknown> = {};
  let parsed: ParsedYaml | null = null;
  const label = file ?? '(defaults)';
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SchemaError([{ file, line: null, key: '', message: `cannot read config: ${(err as Error).message}` }]);
    }
    const result = parseYaml(text, file);
    if (result.issues.length) throw new SchemaError(result.issues);
    parsed = result.parsed;
    const js: unknown = parsed.doc.toJS();
    if (js !== null && js !== undefined) {
      if (typeof js !== 'object' || Array.isArray(js)) {
        throw new SchemaError([{ file, line: 1, key: '', message: 'expected a mapping of keys at the top level' }]);
      }
      data = js as Record<string, unknown>;
    }
    try {
      if ((statSync(file).mode & 0o004) !== 0 && /password|token|key:/i.test(text)) {
        warnings.push(`${file} is readable by other users and may hold secrets; chmod 640 it`);
      }
    } catch { /* stat failures surface as read errors above */ }
  }
  const envSources = new Map<string, string>();
  applyEnv(data, env, envSources);
  // What a desired-state document set (README "Fleets: desired state") lies over the file;
  // the environment, set by whoever launched this process, is applied again and wins.
  let overlay;
  try {
    overlay = readOverlay(typeof data.dataDir === 'string' ? data.dataDir : './data', cwd);
  } catch (err) {
    throw new SchemaError([{ file: label, line: null, key: 'dataDir', message: `desired-state overlay unreadable: ${(err as Error).message}` }]);
  }
  if (overlay) {
    mergeOverlay(data, overlay.overlay);
    applyEnv(data, env, envSources);
  }
  const issues = validateAgainst(ConfigSchema, data, parsed, label, { envSources });
  if (issues.length) throw new SchemaError(issues);
  const raw = data as RawConfig;
  const cross = crossChecks(raw, label, parsed, opts.routeCheck);
  if (cross.length) throw new SchemaError(cross);
  try {
    const config = resolveConfig(raw, cwd);
    warnings.push(...secretFileWarnings(raw, cwd));
    return { config, file, warnings };
  } catch (err) {
    throw new SchemaError([{ file: label, line: null, key: '', message: (err as Error).message }]);
  }
}
