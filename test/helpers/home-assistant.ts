// Home Assistant as a test sees it: a client on the broker that keeps every retained
// message it receives (discovery configs, states, availability), validates each config
// against a JSON Schema written from Home Assistant's documentation, renders the few
// templates edgebus emits as Home Assistant's Jinja would, and judges an entity's
// availability the way `availability_mode: all` does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { connect, type MqttClient } from './mqtt.js';
import { ROOT } from './paths.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'homeassistant', 'discovery.schema.json'), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(schema);
const validators: Record<string, ValidateFunction> = {
  sensor: ajv.getSchema('ha-discovery#/$defs/sensor')!,
  binary_sensor: ajv.getSchema('ha-discovery#/$defs/binary_sensor')!,
};

export type EntityConfig = {
  unique_id: string;
  state_topic: string;
  value_template?: string;
  availability?: { topic: string; value_template?: string; payload_available?: string; payload_not_available?: string }[];
  availability_mode?: string;
  device?: { identifiers: string[]; name?: string; model?: string; manufacturer?: string; sw_version?: string; via_device?: string };
  [key: string]: unknown;
};

/** Problems with one config message, empty when Home Assistant would take it. */
export function configProblems(topic: string, payload: string): string[] {
  const m = /^[^#+]+\/(sensor|binary_sensor)\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/config$/.exec(topic);
  if (!m) return [`${topic}: not a <prefix>/<component>/<node_id>/<object_id>/config topic of a known component`];
  let config: unknown;
  try {
    config = JSON.parse(payload);
  } catch {
    return [`${topic}: not JSON`];
  }
  const validate = validators[m[1]];
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e) => `${topic}: ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

function jinjaText(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
}

function path(root: unknown, dotted: string): unknown {
  let v = root;
  for (const key of dotted.split('.').filter(Boolean)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** Renders the templates edgebus emits; any other form fails the test, so a new one gets a renderer here. */
export function render(template: string | undefined, payload: string): string {
  if (template === undefined) return payload;
  let m = /^\{\{ value_json((?:\.[A-Za-z_][A-Za-z0-9_]*)*) \}\}$/.exec(template);
  if (m) return jinjaText(path(JSON.parse(payload), m[1]));
  m = /^\{\{ '([^']*)' if value_json((?:\.[A-Za-z_][A-Za-z0-9_]*)*) == '([^']*)' else '([^']*)' \}\}$/.exec(template);
  if (m) return path(JSON.parse(payload), m[2]) === m[3] ? m[1] : m[4];
  throw new Error(`a template the test cannot render: ${template}`);
}

export interface HomeAssistantClient {
  client: MqttClient;
  /** Every message received, in order, retained ones flagged. */
  messages: { topic: string; payload: string; retain: boolean }[];
  /** The last payload per topic ('' once cleared). */
  last: Map<string, string>;
  configs(): Map<string, string>;
  /** How many times a topic was received. */
  count(topic: string): number;
  /** The entity's state as Home Assistant renders it, or undefined before any. */
  state(config: EntityConfig): string | undefined;
  /** With availability_mode all: available only when every availability topic says so. */
  available(config: EntityConfig): boolean;
  announce(prefix: string, state: 'online' | 'offline'): Promise<void>;
}

export async function homeAssistant(url: string, filters: string[]): Promise<HomeAssistantClient> {
  const client = await connect(url);
  const messages: HomeAssistantClient['messages'] = [];
  const last = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    const body = payload.toString('utf8');
    messages.push({ topic, payload: body, retain: packet.retain });
    last.set(topic, body);
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return {
    client, messages, last,
    configs: () => new Map([...last].filter(([t, p]) => t.endsWith('/config') && p !== '')),
    count: (topic) => messages.filter((m) => m.topic === topic).length,
    state(config) {
      const p = last.get(config.state_topic);
      return p === undefined || p === '' ? undefined : render(config.value_template, p);
    },
    available(config) {
      const list = config.availability ?? [];
      if (config.availability_mode !== 'all') throw new Error('the gateway sets availability_mode: all');
      return list.every((a) => {
        const p = last.get(a.topic);
        return p !== undefined && p !== '' && render(a.value_template, p) === (a.payload_available ?? 'online');
      });
    },
    async announce(prefix, state) {
      await client.publishAsync(`${prefix}/status`, state, { qos: 1 });
    },
  };
}
