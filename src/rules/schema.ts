// The shape of one rule in `rules/*.yaml` (SPEC §5), for `validateAgainst`: unknown keys and
// bad values become `file:line: key: message`. Conditions (`where`) and `having` are only
// checked to be mappings here; conditions.ts / aggregates.ts check their insides when the
// loader compiles them, so their errors can name the operator or aggregate at fault.
// Checks between keys (which timing keys go together) live in the loader's compileRule.
import { Type, type Static } from '@sinclair/typebox';
import { PRIORITIES } from '../events/types.js';
import { MatchSchema, oneOf, oneOrMany, strict } from '../config/match-schema.js';
import { EMIT_TYPES } from './types.js';

/** Same convention as the config: a string like `60s` (checked by the `duration` format) or ms. */
const duration = (description: string, def?: string) =>
  Type.Unsafe<string | number>({ type: ['string', 'number'], format: 'duration', minimum: 0, description, ...(def === undefined ? {} : { default: def }) });


/** Deep-checked by the compiler, which knows the operators and aggregates. */
const mapping = (description: string) => Type.Unsafe<Record<string, unknown>>({ type: 'object', description });

const Template = (description: string, def?: string) =>
  Type.String({ minLength: 1, description, ...(def === undefined ? {} : { default: def }) });


/** Exactly one key: the compiler says so, with a clearer message than min/maxProperties give. */
export const WindowSchema = Type.Object({
  sliding: Type.Optional(duration('the last this-long of event time')),
  tumbling: Type.Optional(duration('back-to-back buckets of event time')),
  count: Type.Optional(Type.Integer({ minimum: 1, description: 'the last N events' })),
  session: Type.Optional(duration('events until a gap this long')),
}, strict);

export const SequenceStepSchema = Type.Object({
  as: Type.String({ minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'a step name (letters, digits, _ and -)' }),
  match: Type.Optional(MatchSchema),
  where: Type.Optional(mapping('condition on the step event')),
  within: Type.Optional(duration('how long after the previous step')),
}, strict);

const TOPIC_DESC = 'a topic template without + or #';
const topic = (def?: string) => Type.String({ minLength: 1, pattern: '^[^+#]+$', description: TOPIC_DESC, ...(def === undefined ? {} : { default: def }) });

export const DEFAULT_ALERT_TOPIC = 'alerts/{rule}/{group}';
export const DEFAULT_ALERT_MESSAGE = '{rule} {state} for {group}';

/** A derived event's topic when its rule names none (a Command must name its own). */
export const DEFAULT_DERIVED_TOPIC = 'events/{rule}/{group}';

// No schema defaults here: which apply depends on `type`, and the loader must tell a key
// given for the wrong type from one filled in (see compileEmit).
export const EmitSchema = Type.Object({
  type: Type.Optional(oneOf(EMIT_TYPES)),
  severity: Type.Optional(oneOf(['info', 'warning', 'critical'] as const)),
  priority: Type.Optional(oneOf(PRIORITIES)),
  topic: Type.Optional(topic()),
  message: Type.Optional(Template('message template')),
  payload: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: "a derived event's payload: its strings are templates" })),
}, strict);

export const PublishActionSchema = Type.Object({
  publish: Type.Object({
    topic: topic(),
    // An object is sent as JSON; numbers and booleans as their text (`payload: 1` means "1").
    payload: Type.Unsafe<string | number | boolean | Record<string, unknown>>({
      type: ['string', 'number', 'boolean', 'object'],
      description: 'a string (template) or an object sent as JSON',
    }),
    qos: Type.Unsafe<0 | 1>({ type: 'integer', enum: [0, 1], default: 1 }),
    retain: Type.Boolean({ default: false }),
  }, strict),
}, strict);

export const RuleSchema = Type.Object({
  id: Type.String({ minLength: 1, pattern: '^[^/#+{}\\s]+$', description: 'a rule id (no /, #, +, {, } or spaces)' }),
  description: Type.Optional(Type.String()),
  match: Type.Optional(MatchSchema),
  where: Type.Optional(mapping('condition on each event')),
  groupBy: Type.Optional(oneOrMany(Type.String({ minLength: 1 }), 'event path(s) naming the group')),
  window: Type.Optional(WindowSchema),
  having: Type.Optional(mapping('aggregate → test')),
  for: Type.Optional(duration('how long `where` must hold')),
  sequence: Type.Optional(Type.Array(SequenceStepSchema, { minItems: 2 })),
  absent: Type.Optional(duration('silence after the last matching event')),
  emit: Type.Optional(EmitSchema),
  clear: Type.Optional(Type.Object({
    where: Type.Optional(mapping('condition that clears an active alert')),
    having: Type.Optional(mapping('aggregate tests that clear an active alert')),
  }, strict)),
  cooldown: Type.Optional(duration('no repeat of an active alert within this', '0s')),
  actions: Type.Optional(Type.Array(PublishActionSchema)),
}, strict);

/** A rules file that is a YAML list: validated as a whole so paths (and lines) carry the index. */
export const RuleListSchema = Type.Array(RuleSchema);

export type { RawMatch } from '../config/match-schema.js';
export type RawRule = Static<typeof RuleSchema>;
export type RawSequenceStep = Static<typeof SequenceStepSchema>;
