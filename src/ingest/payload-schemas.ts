// What ingest asks of the schema registry (src/schemas, which sits above ingest: it compiles
// upcasts in the rules' language). The daemon plugs the registry in here; with no schema
// files it plugs in nothing, and ingest does no schema work at all.
import type { EventType, JsonObject } from '../events/types.js';
import type { Rejection } from '../store/rejected.js';

export interface PayloadSchemas {
  /**
   * The `metadata.version` a payload is stored with once it passed the schema of its type
   * and sensor; a `schema-violation` Rejection when it failed (or declared a version the
   * schema does not have); null when no schema covers it (the event is stored as before).
   * @param sensor the sensor type of a DeviceData reading, null for other types.
   * @param declared the envelope's `version` ("2"), null when the payload gave none.
   */
  check(type: EventType, sensor: string | null, declared: string | null, payload: JsonObject): string | Rejection | null;
}
