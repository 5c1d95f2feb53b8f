// An alert as SPEC §5 describes it: an `Alert` event whose id is made of the rule, the group
// and the event that decided it, so that the same log replayed (after a restart, by
// `replay --to rules`) produces the same ids, and the id index refuses them the second time.
import { isoTime } from '../events/iso-time.js';
import type { EdgeEvent, EventDraft, JsonObject } from '../events/types.js';
import { fillTemplate, fillTopic, type TemplateContext } from './templates.js';
import type { CompiledRule } from './types.js';

export type AlertState = 'raised' | 'cleared';

/** How many triggering event ids an alert carries; a long window keeps its newest. */
const MAX_EVENT_IDS = 100;

export interface AlertIntent {
  rule: CompiledRule;
  group: string;
  state: AlertState;
  draft: EventDraft;
  topic: string;
  /** The rule's actions, filled in: only a raised alert has them. */
  actions: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean }[];
}

export interface AlertFacts {
  rule: CompiledRule;
  group: string;
  state: AlertState;
  /** What makes this alert unique within its rule and group: the deciding event's seq, for one. */
  key: string;
  aggregates: Record<string, number | null>;
  /** The ids of the events that triggered it, oldest first. */
  ids: readonly string[];
  /** The event templates read paths from; null for an absence. */
  event: EdgeEvent | null;
  /** When it was decided, on the gateway clock and on the wall clock. */
  now: number;
  wall?: number;
}

export function alertId(rule: string, group: string, key: string, state: AlertState): string {
  return `alert:${rule}:${group}:${key}:${state}`;
}

export function buildAlert(gatewayId: string, f: AlertFacts): AlertIntent {
  const { rule } = f;
  const ctx: TemplateContext = { rule: rule.id, group: f.group, state: f.state, severity: rule.emit.severity, aggregates: f.aggregates, event: f.event };
  const ids = f.ids.slice(-MAX_EVENT_IDS);
  const message = fillTemplate(rule.emit.message, ctx);
  const payload: JsonObject = {
    rule: rule.id, group: f.group, state: f.state, severity: rule.emit.severity, message,
    aggregates: { ...f.aggregates }, events: ids,
  };
  if (rule.description !== null) payload.description = rule.description;
  const draft: EventDraft = {
    id: alertId(rule.id, f.group, f.key, f.state),
    type: 'Alert',
    source: gatewayId,
    timestamp: isoTime(f.wall ?? f.now),
    payload,
    metadata: {
      correlationId: ids[0] ?? null,
      causationId: ids.at(-1) ?? null,
      version: '1',
      priority: rule.emit.priority,
      ttl: null,
    },
    deviceSeq: null,
    explicitId: true,
    receivedAt: f.now,
  };
  const actions = f.state === 'raised'
    ? rule.actions.map((a) => ({ topic: fillTopic(a.publish.topic, ctx), payload: Buffer.from(fillTemplate(a.publish.payload, ctx)), qos: a.publish.qos, retain: a.publish.retain }))
    : [];
  return { rule, group: f.group, state: f.state, draft, topic: fillTopic(rule.emit.topic, ctx), actions };
}
