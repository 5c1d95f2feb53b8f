// One sensor's payload in three versions, for the schema tests (README "Schemas"):
//   v1 {"temp": 21.5}                      Celsius, no unit
//   v2 {"value": 21.5, "unit": "C"}        temp renamed, unit defaulted; a state ON/OFF may come
//   v3 {"value": 70.7, "unit": "F", "site": "gh-1", "state": "on"}
//                                          Fahrenheit, a site (the source by default), state lower case
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEMPERATURE_SCHEMA = `type: DeviceData
sensor: temperature
versions:
  - version: 1
    schema:
      type: object
      required: [temp]
      properties:
        temp: { type: number }
  - version: 2
    schema:
      type: object
      required: [value, unit]
      properties:
        value: { type: number }
        unit: { enum: [C, F] }
        state: { enum: [ON, OFF] }
    upcast:
      - rename: { from: temp, to: value }
      - default: { field: unit, value: C }
  - version: 3
    schema:
      type: object
      required: [value, unit, site]
      properties:
        value: { type: number, minimum: -100, maximum: 300 }
        unit: { const: F }
        site: { type: string }
        state: { enum: [on, off] }
    upcast:
      - convert: { field: value, factor: 1.8, offset: 32, unit: F }
        when: { unit: C }
      - default: { field: site, value: "{source}" }
      - map: { field: state, values: { "ON": "on", "OFF": "off" } }
`;

/** A schemas dir holding the temperature schema (and `extra` files by name). */
export function writeSchemas(dir: string, extra: Record<string, string> = {}): string {
  const schemas = join(dir, 'schemas');
  mkdirSync(schemas, { recursive: true });
  writeFileSync(join(schemas, 'temperature.yaml'), TEMPERATURE_SCHEMA);
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(schemas, name), text);
  return schemas;
}
