// A Sparkplug B host application for tests. It reads the gateway's payloads through a path
// independent of the daemon's protobufjs: Debian's protoc turns the bytes into protobuf
// text format with the shipped .proto (`protoc --decode`), parsed here, and it writes its
// own NCMD/DCMD payloads with `protoc --encode`. A message is kept as the broker delivered
// it (topic, QoS, retain flag, order of arrival) and decoded when a test asks.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt';
import { connect, type MqttClient } from './mqtt.js';
import { ROOT } from './paths.js';

const PROTO_DIR = join(ROOT, 'proto');
const PAYLOAD = 'org.eclipse.tahu.protobuf.Payload';

export type SparkplugType = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD' | 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

export interface HostMetric {
  name?: string;
  timestamp?: number;
  datatype?: number;
  isHistorical: boolean;
  isNull: boolean;
  value: number | boolean | string | null;
  /** The `engUnit` property, when the metric has one. */
  engUnit?: string;
}

export interface HostMessage {
  topic: string;
  type: SparkplugType;
  group: string;
  node: string;
  device?: string;
  qos: number;
  retain: boolean;
  timestamp?: number;
  seq?: number;
  metrics: HostMetric[];
}

/** Protobuf text format, field by field: every field a list (repeated or not). */
export interface TextMessage {
  [field: string]: (string | number | boolean | TextMessage)[];
}

/**
 * protoc runs at most this many at once: a test that decodes hundreds of messages must not
 * fork hundreds of processes at once and starve the daemon sharing its event loop.
 */
const PROTOC_AT_ONCE = 2;
let running = 0;
const queued: (() => void)[] = [];

async function protoc(args: string[], input: Buffer | string): Promise<Buffer> {
  if (running >= PROTOC_AT_ONCE) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    return await runProtoc(args, input);
  } finally {
    running--;
    queued.shift()?.();
  }
}

function runProtoc(args: string[], input: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('protoc', [`--proto_path=${PROTO_DIR}`, ...args, 'sparkplug_b.proto'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new Error('protoc is needed for the Sparkplug tests (apt-get install protobuf-compiler; .ci/run installs it)'));
      else if (err) reject(new Error(`protoc ${args.join(' ')}: ${err.message}\n${stderr.toString()}`));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

/** Bytes → protoc's text format, parsed. */
export async function decodeWithProtoc(bytes: Buffer): Promise<TextMessage> {
  return parseTextFormat((await protoc([`--decode=${PAYLOAD}`], bytes)).toString('utf8'));
}

/** Text format → bytes, by protoc. */
export function encodeWithProtoc(text: string): Promise<Buffer> {
  return protoc([`--encode=${PAYLOAD}`], text);
}

/** The subset of protobuf text format protoc prints: `key: scalar` and `key { … }` lines. */
export function parseTextFormat(text: string): TextMessage {
  const root: TextMessage = {};
  const stack: TextMessage[] = [root];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const top = stack[stack.length - 1];
    if (line === '}') {
      if (stack.length === 1) throw new Error('unbalanced } in protoc output');
      stack.pop();
      continue;
    }
    const open = /^(\w+) \{$/.exec(line);
    if (open) {
      const child: TextMessage = {};
      (top[open[1]] ??= []).push(child);
      stack.push(child);
      continue;
    }
    const field = /^(\w+): (.*)$/.exec(line);
    if (!field) throw new Error(`unexpected protoc output line: ${line}`);
    (top[field[1]] ??= []).push(scalar(field[2]));
  }
  if (stack.length !== 1) throw new Error('unterminated message in protoc output');
  return root;
}

function scalar(v: string): string | number | boolean {
  if (v.startsWith('"')) return unquote(v);
  if (v === 'true' || v === 'false') return v === 'true';
  const n = Number(v);
  // Enum names and anything else stay text.
  return Number.isNaN(n) ? v : n;
}

/** A C-escaped string as protoc writes it (octal escapes for bytes that are not printable ASCII). */
function unquote(v: string): string {
  const bytes: number[] = [];
  for (let i = 1; i < v.length - 1; i++) {
    const c = v[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = v[++i];
    if (/[0-7]/.test(n)) {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(v[i + 1])) oct += v[++i];
      bytes.push(parseInt(oct, 8));
    } else {
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92 };
      if (!(n in simple)) throw new Error(`unknown escape \\${n} in ${v}`);
      bytes.push(simple[n]);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function one<T>(m: TextMessage, key: string): T | undefined {
  return m[key]?.[0] as T | undefined;
}

const VALUE_FIELDS = ['int_value', 'long_value', 'float_value', 'double_value', 'boolean_value', 'string_value'];

function metricOf(m: TextMessage): HostMetric {
  const field = VALUE_FIELDS.find((f) => m[f] !== undefined);
  const out: HostMetric = {
    name: one(m, 'name'), timestamp: one(m, 'timestamp'), datatype: one(m, 'datatype'),
    isHistorical: one<boolean>(m, 'is_historical') === true,
    isNull: one<boolean>(m, 'is_null') === true,
    value: field === undefined ? null : (one(m, field) as number | boolean | string),
  };
  const props = one<TextMessage>(m, 'properties');
  if (props) {
    const keys = (props.keys ?? []) as string[];
    const values = (props.values ?? []) as TextMessage[];
    const i = keys.indexOf('engUnit');
    if (i >= 0) out.engUnit = one<string>(values[i], 'string_value');
  }
  return out;
}

export interface SparkplugHost {
  client: MqttClient;
  /** Every message so far, decoded with protoc, in arrival order. */
  messages(): Promise<HostMessage[]>;
  /** Messages on `edgebus/+/sparkplug/…` (the delivery proofs), raw. */
  proofs(): { topic: string; body: string }[];
  /** How many Sparkplug messages have arrived (no decoding). */
  count(): number;
  /** Publishes a retained STATE for `hostId` (3.0 JSON payload), QoS 1. */
  state(hostId: string, online: boolean, timestamp: number): Promise<void>;
  /** Publishes an NCMD or DCMD written as text format metrics (encoded by protoc), QoS 0. */
  command(topic: string, metricsText: string): Promise<void>;
  end(): Promise<void>;
}

interface Raw {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  decoded?: Promise<HostMessage>;
}

export async function startSparkplugHost(url: string): Promise<SparkplugHost> {
  const client = await connect(url, { protocolVersion: 5 });
  const raw: Raw[] = [];
  const proofs: { topic: string; body: string }[] = [];
  client.on('message', (topic, payload, packet: IPublishPacket) => {
    if (topic.startsWith('edgebus/')) {
      proofs.push({ topic, body: payload.toString() });
      return;
    }
    // STATE is the host's own (JSON), not an edge node's payload.
    if (topic.startsWith('spBv1.0/STATE/')) return;
    // Commands are the host's own.
    if (/^spBv1\.0\/[^/]+\/(NCMD|DCMD)\//.test(topic)) return;
    raw.push({ topic, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain });
  });
  await client.subscribeAsync({ 'spBv1.0/#': { qos: 1 }, 'edgebus/+/sparkplug/#': { qos: 1 } });
  const decode = async (r: Raw): Promise<HostMessage> => {
    const [, group, type, node, device] = r.topic.split('/');
    const m = await decodeWithProtoc(r.payload);
    return {
      topic: r.topic, type: type as SparkplugType, group, node, device, qos: r.qos, retain: r.retain,
      timestamp: one(m, 'timestamp'), seq: one(m, 'seq'),
      metrics: ((m.metrics ?? []) as TextMessage[]).map(metricOf),
    };
  };
  return {
    client,
    messages: () => Promise.all(raw.map((r) => (r.decoded ??= decode(r)))),
    proofs: () => proofs,
    count: () => raw.length,
    state: async (hostId, online, timestamp) => {
      await client.publishAsync(`spBv1.0/STATE/${hostId}`, JSON.stringify({ online, timestamp }), { qos: 1, retain: true });
    },
    command: async (topic, metricsText) => {
      const bytes = await encodeWithProtoc(`timestamp: ${Date.now()}\n${metricsText}\n`);
      await client.publishAsync(topic, bytes, { qos: 0 });
    },
    end: () => client.endAsync(true),
  };
}
