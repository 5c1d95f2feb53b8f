// The shape of one file in `schemasDir` (README "Schemas"), for `validateAgainst`: unknown
// keys and bad values become `file:line: key: message`. A version's JSON Schema is only
// checked to be one here; ajv checks its inside when the loader compiles it, and the
// upcast steps' conditions are checked by the rules' condition compiler.
import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPES } from '../events/types.js';
import { oneOf, strict } from '../config/match-schema.js';

const field = (description: string) =>
  Type.String({ minLength: 1, pattern: '^[^.]+(\\.[^.]+)*$', description: `${description} (a dotted path in the payload, e.g. value or reading.temp)` });

/** Any JSON value: a template's strings may hold `{placeholder}`s. */
const anyValue = Type.Unsafe<unknown>({});

/** One step: exactly one of the operations (the compiler says so), and an optional `when`. */
export const UpcastStepSchema = Type.Object({
  rename: Type.Optional(Type.Object({ from: field('the old field'), to: field('the new field') }, strict)),
  default: Type.Optional(Type.Object({ field: field('the field to fill when absent'), value: anyValue }, strict)),
  set: Type.Optional(Type.Object({ field: field('the field to set'), value: anyValue }, strict)),
  map: Type.Optional(Type.Object({
    field: field('the field whose value is mapped'),
    values: Type.Record(Type.String(), anyValue, { description: 'old value → new value' }),
  }, strict)),
  convert: Type.Optional(Type.Object({
    field: field('the numeric field to convert'),
    factor: Type.Number({ description: 'new = old * factor + offset' }),
    offset: Type.Optional(Type.Number()),
    unit: Type.Optional(Type.String({ minLength: 1, description: 'the unit written to `unitField` after the conversion' })),
    unitField: Type.Optional(field('where the unit goes, default unit')),
  }, strict)),
  remove: Type.Optional(Type.Object({ field: field('the field to drop') }, strict)),
  when: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'a condition as in rules, on the event as upcast so far' })),
}, strict);

export const SchemaVersionSchema = Type.Object({
  version: Type.Integer({ minimum: 1, description: 'a positive integer, larger than the previous entry\'s' }),
  schema: Type.Unsafe<Record<string, unknown> | boolean>({ type: ['object', 'boolean'], description: 'a JSON Schema for the payload' }),
  upcast: Type.Optional(Type.Array(UpcastStepSchema, { description: 'how the previous version becomes this one' })),
}, strict);

export const SchemaFileSchema = Type.Object({
  type: oneOf(EVENT_TYPES),
  sensor: Type.Optional(Type.String({ minLength: 1, description: 'a sensor type (DeviceData only)' })),
  versions: Type.Array(SchemaVersionSchema, { minItems: 1 }),
}, strict);

export type RawSchemaFile = Static<typeof SchemaFileSchema>;
export type RawUpcastStep = Static<typeof UpcastStepSchema>;
export const UPCAST_OPERATIONS = ['rename', 'default', 'set', 'map', 'convert', 'remove'] as const;
