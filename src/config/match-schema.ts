// The `match:` of a rule (SPEC §5) — which events by type, sensor and source — and the small
// schema builders it is made of. The config's routes take the same `match`, so it lives here,
// below both the config and the rules.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EVENT_TYPES } from '../events/types.js';

export const strict = { additionalProperties: false } as const;

/** A string enum as one `enum` keyword, so a bad value gives one error listing the choices. */
export const oneOf = <const T extends readonly string[]>(values: T, def?: T[number]) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...(def === undefined ? {} : { default: def }) });

/**
 * `x` or `[x, …]`. if/then/else rather than anyOf: only the branch that applies reports,
 * so `type: DeviceDta` gives one "expected one of …" and not also "expected array".
 */
export const oneOrMany = <T extends TSchema>(item: T, description: string) =>
  Type.Unsafe<Static<T> | Static<T>[]>({
    if: { type: 'array' },
    then: { type: 'array', items: item, minItems: 1 },
    else: item,
    description,
  });

export const MatchSchema = Type.Object({
  type: Type.Optional(oneOrMany(oneOf(EVENT_TYPES), 'event type(s)')),
  sensor: Type.Optional(oneOrMany(Type.String({ minLength: 1 }), 'sensor type(s)')),
  source: Type.Optional(oneOrMany(Type.String({ minLength: 1 }), 'source pattern(s); * matches any run of characters')),
}, strict);

export type RawMatch = Static<typeof MatchSchema>;
