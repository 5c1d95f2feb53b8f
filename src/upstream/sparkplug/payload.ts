// Sparkplug B payloads, encoded and decoded by protobufjs from the specification's schema
// (proto/sparkplug_b.proto, shipped with the package), compiled once when first needed.
// Nothing here builds protobuf bytes by hand: a field number is the schema's business.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The schema, found from this module: dist/src/upstream/sparkplug/ → <package>/proto/. */
export const PROTO_FILE = fileURLToPath(new URL('../../../../proto/sparkplug_b.proto', import.meta.url));

/** The specification's DataType numbers the gateway sends or reads. */
export const DataType = {
  Int64: 4,
  UInt64: 8,
  Double: 10,
  Boolean: 11,
  String: 12,
} as const;

/** A metric as the gateway writes it; the value fields follow the schema's `oneof value`. */
export interface Metric {
  name: string;
  /** ms since the epoch */
  timestamp: number;
  datatype: number;
  isHistorical?: boolean;
  isNull?: boolean;
  properties?: { keys: string[]; values: { type: number; stringValue: string }[] };
  longValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface Payload {
  /** ms since the epoch */
  timestamp: number;
  metrics: Metric[];
  /** Absent on NDEATH only. */
  seq?: number;
}

/** A metric as read from a command: its name and value, whatever field carried it. */
export interface ReadMetric {
  name: string | null;
  datatype: number | null;
  value: string | number | boolean | null;
}

let compiled: protobuf.Type | null = null;

function payloadType(): protobuf.Type {
  compiled ??= protobuf.loadSync(PROTO_FILE).lookupType('org.eclipse.tahu.protobuf.Payload');
  return compiled;
}

/** Compiles the schema now, so that a broken install fails at start rather than at the first birth. */
export function loadSchema(): void {
  payloadType();
}

export function encodePayload(p: Payload): Buffer {
  const bytes = payloadType().encode(p).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The metrics of an NCMD or DCMD; throws on bytes that are not a Sparkplug B payload. */
export function decodeMetrics(bytes: Uint8Array): ReadMetric[] {
  const type = payloadType();
  const obj = type.toObject(type.decode(bytes), { longs: Number, bytes: String, oneofs: true }) as {
    metrics?: { name?: string; datatype?: number; isNull?: boolean; value?: string; [field: string]: unknown }[];
  };
  return (obj.metrics ?? []).map((m) => ({
    name: m.name ?? null,
    datatype: m.datatype ?? null,
    value: m.isNull || m.value === undefined ? null : scalar(m[m.value]),
  }));
}

/** Data sets, templates and extensions are not commands the gateway can pass on as JSON: kept as null. */
function scalar(v: unknown): string | number | boolean | null {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
}
