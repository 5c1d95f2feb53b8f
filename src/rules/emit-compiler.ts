// A rule's `emit` (SPEC §5, README "Rules"), compiled: an alert by default, or a derived
// event (`type: BusinessEvent | Command | SystemEvent`) with a templated payload. Which keys
// go with which type is checked here, against the keys as written: an alert has a severity
// and a message and makes its own payload; a derived event has a payload and neither of the
// others; a Command names its topic (`cmd/<device>` reaches a device).
import type { JsonObject } from '../events/types.js';
import { DEFAULT_ALERT_MESSAGE, DEFAULT_ALERT_TOPIC, DEFAULT_DERIVED_TOPIC, type RawRule } from './schema.js';
import { RuleError, type RuleEmit } from './types.js';

type Path = readonly (string | number)[];

export function compileEmit(raw: RawRule['emit'], at: Path): RuleEmit {
  const type = raw?.type ?? 'Alert';
  if (type === 'Alert') {
    if (raw?.payload !== undefined) {
      throw new RuleError([...at, 'payload'], 'an Alert makes its own payload (rule, group, state, severity, message, aggregates, events); payload is for emit.type BusinessEvent, Command or SystemEvent');
    }
  } else {
    for (const key of ['severity', 'message'] as const) {
      if (raw?.[key] !== undefined) throw new RuleError([...at, key], `only an Alert has a ${key} (emit.type is ${type}); put what it should say in payload`);
    }
    if (type === 'Command' && raw?.topic === undefined) {
      throw new RuleError([...at, 'type'], 'a Command needs a topic (cmd/<device> delivers it to that device)');
    }
  }
  return {
    type,
    severity: raw?.severity ?? 'warning',
    priority: raw?.priority ?? (type === 'Alert' ? 'high' : 'normal'),
    topic: raw?.topic ?? (type === 'Alert' ? DEFAULT_ALERT_TOPIC : DEFAULT_DERIVED_TOPIC),
    message: raw?.message ?? DEFAULT_ALERT_MESSAGE,
    payload: type === 'Alert' ? null : (raw?.payload ?? {}) as JsonObject,
  };
}
