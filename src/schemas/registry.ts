// The schema registry: every payload schema of `schemasDir`, by event type and sensor type,
// each with its versions. Ingest asks it whether a payload is valid (check: the
// PayloadSchemas port), and reads ask it for an event in its latest version (latest).
import type { ValidateFunction } from 'ajv';
import { cborText } from '../events/cbor-writer.js';
import type { EdgeEvent, EventType, JsonObject } from '../events/types.js';
import type { PayloadSchemas } from '../ingest/payload-schemas.js';
import type { Rejection } from '../store/rejected.js';
import { upcastEvent, type UpcastLink } from './upcast.js';

export interface SchemaVersion {
  version: number;
  /** The version as `metadata.version` holds it. */
  label: string;
  validate: ValidateFunction;
  /** How the previous version becomes this one; null for the first. */
  upcast: UpcastLink | null;
}

export interface PayloadSchema {
  /** The file, relative to schemasDir: what rejections name. */
  file: string;
  type: EventType;
  /** The sensor type it covers; null: every event of its type without a schema of its own. */
  sensor: string | null;
  /** Oldest first. */
  versions: readonly SchemaVersion[];
}

interface Compiled {
  schema: PayloadSchema;
  byLabel: Map<string, number>;
  latest: SchemaVersion;
  /** From the version at each index to the latest: the links after it. */
  chains: readonly (readonly UpcastLink[])[];
}

export class SchemaRegistry implements PayloadSchemas {
  /** Type-wide schemas. */
  private readonly byType = new Map<EventType, Compiled>();
  /** DeviceData schemas by sensor type (a sensor belongs to DeviceData only). */
  private readonly bySensor = new Map<string, Compiled>();
  /** The type-wide DeviceData schema, for readings of a sensor without one of its own. */
  private readonly anyReading: Compiled | null;
  /**
   * The CBOR text of every sensor type (or event type, for a type-wide schema) with more than
   * one version: a stored event whose bytes hold none of them needs no upcast, so the
   * forwarder copies it without decoding it.
   */
  private readonly needles: Buffer[] = [];

  constructor(readonly schemas: readonly PayloadSchema[]) {
    for (const schema of schemas) {
      const versions = schema.versions;
      const links = versions.map((v) => v.upcast);
      const compiled: Compiled = {
        schema,
        byLabel: new Map(versions.map((v, i) => [v.label, i])),
        latest: versions[versions.length - 1],
        chains: versions.map((_, i) => links.slice(i + 1).map((l, j) => l ?? { version: versions[i + 1 + j].label, steps: [] })),
      };
      if (schema.sensor === null) this.byType.set(schema.type, compiled);
      else this.bySensor.set(schema.sensor, compiled);
      if (versions.length > 1) this.needles.push(Buffer.from(cborText(schema.sensor ?? schema.type)));
    }
    this.anyReading = this.byType.get('DeviceData') ?? null;
  }

  get size(): number {
    return this.schemas.length;
  }

  /** One map lookup: ingest asks this of every payload once any schema is loaded. */
  private find(type: EventType, sensor: string | null): Compiled | null {
    if (type !== 'DeviceData' || sensor === null) return this.byType.get(type) ?? null;
    return this.bySensor.get(sensor) ?? this.anyReading;
  }

  /** The schema a payload of this type and sensor is checked against; null when none. */
  schemaFor(type: EventType, sensor: string | null): PayloadSchema | null {
    return this.find(type, sensor)?.schema ?? null;
  }

  check(type: EventType, sensor: string | null, declared: string | null, payload: JsonObject): string | Rejection | null {
    const c = this.find(type, sensor);
    if (c === null) return null;
    let v = c.latest;
    if (declared !== null) {
      const i = c.byLabel.get(declared);
      if (i === undefined) return unknownVersion(c, declared);
      v = c.schema.versions[i];
    }
    if (v.validate(payload)) return v.label;
    const err = v.validate.errors![0];
    const where = err.instancePath === '' ? 'the payload' : err.instancePath;
    return {
      reason: 'schema-violation',
      detail: `${c.schema.file} version ${v.label}: ${where} ${err.message ?? 'is invalid'} (schema ${err.schemaPath})`,
      schema: { file: c.schema.file, version: v.label, instancePath: err.instancePath, schemaPath: err.schemaPath, message: err.message ?? 'is invalid' },
    };
  }

  /**
   * The event in the latest version of its schema: the same object when it is that already,
   * has no schema, or carries a version its schema does not list (it is left as stored).
   */
  latest<T extends EdgeEvent>(e: T): T {
    const c = this.find(e.type, e.sensor?.type ?? null);
    if (c === null) return e;
    const i = c.byLabel.get(e.metadata?.version ?? '1');
    if (i === undefined || i === c.schema.versions.length - 1) return e;
    // Fields beyond the event's own (a read's correctedTimestamp) are carried over as they are.
    return upcastEvent(e, c.chains[i]) as T;
  }

  /** False when the stored bytes of an event show it needs no upcast (most do not); true: decode and ask `latest`. */
  mayNeedUpcast(bytes: Uint8Array): boolean {
    if (this.needles.length === 0) return false;
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const needle of this.needles) if (b.includes(needle)) return true;
    return false;
  }
}

function unknownVersion(c: Compiled, declared: string): Rejection {
  const known = c.schema.versions.map((v) => v.label).join(', ');
  const message = `version ${declared} is not one of ${known}`;
  return {
    reason: 'schema-violation',
    detail: `${c.schema.file}: ${message}`,
    schema: { file: c.schema.file, version: declared, instancePath: '', schemaPath: '', message },
  };
}

/** No schemas: what a gateway without a schemasDir runs with. */
export const NO_SCHEMAS = new SchemaRegistry([]);
