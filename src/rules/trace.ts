// Where what a rule emits sits in its chain (README "Rules", Traceability): every emission
// and every command its actions send carries the incident's correlation id and the id of
// the event that directly caused it, and has an id made of what decided it, so the same log
// replayed makes the same ids and the id index stores each once.
import { commandPayloadOf } from '../events/command-payload.js';
import type { EdgeEvent, EventType, JsonObject } from '../events/types.js';
import type { AlertState } from './alerts.js';
import type { CompiledRule } from './types.js';

/** The first of the events that triggered an emission: what its correlation comes from. */
export interface Trigger {
  id: string;
  correlationId: string | null;
}

/** The incident a trigger opens or continues: its own correlation, or itself when it has none. */
export function correlationOf(trigger: Trigger): string {
  return trigger.correlationId ?? trigger.id;
}

export function triggerOf(e: EdgeEvent): Trigger {
  return { id: e.id, correlationId: e.metadata.correlationId };
}

/**
 * `alert:<rule>:<group>:<key>:<state>` for an alert (the id alerts always had); a derived
 * event names its type instead, so an alert and a BusinessEvent of the same decision differ.
 */
export function emissionId(type: EventType, rule: string, group: string, key: string, state: AlertState): string {
  const prefix = type === 'Alert' ? 'alert' : type.toLowerCase();
  return `${prefix}:${rule}:${group}:${key}:${state}`;
}

/** Whether the event of id `id` is one `rule` emitted: its alert or derived event, or an action's Command. */
export function emittedBy(rule: CompiledRule, id: string): boolean {
  return id.startsWith(`alert:${rule.id}:`) || (rule.emit.type !== 'Alert' && id.startsWith(`${rule.emit.type.toLowerCase()}:${rule.id}:`));
}

/** The Command of a rule's action `index` (from 0) for the emission `emissionId`. */
export function actionCommandId(emissionId: string, index: number): string {
  return `${emissionId}:action:${index}`;
}

const DEVICE_TOPIC = /^cmd\/([^/]+)(?:\/|$)/;

/** The device a command topic names: `cmd/<device>` or `cmd/<device>/…`; null otherwise. */
export function deviceOfTopic(topic: string): string | null {
  return DEVICE_TOPIC.exec(topic)?.[1] ?? null;
}

/** A rule action's payload text as its Command's payload, as upstream commands are kept. */
export function commandPayload(text: string): JsonObject {
  return commandPayloadOf(Buffer.from(text)).payload;
}
