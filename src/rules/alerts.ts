// What a rule emits (SPEC §5, README "Rules"): an `Alert` event, or the derived event its
// `emit.type` names, and a `Command` event for each of its actions. Every id is made of the
// rule, the group and the event that decided it, so that the same log replayed (after a
// restart, by `replay --to rules`) produces the same ids, and the id index refuses them the
// second time. Correlation and causation follow trace.ts.
import { isoTime } from '../events/iso-time.js';
import type { EdgeEvent, EventDraft, JsonObject, Priority } from '../events/types.js';
import { fillPayload, fillTemplate, fillTopic, type TemplateContext } from './templates.js';
import { actionCommandId, commandPayload, deviceOfTopic, emissionId } from './trace.js';
import type { CompiledRule } from './types.js';

export type AlertState = 'raised' | 'cleared';

/** How many triggering event ids an alert carries; a long window keeps its newest. */
const MAX_EVENT_IDS = 100;

/** A Command one of a raised emission's actions sends: stored, then published on its topic. */
export interface ActionCommand {
  draft: EventDraft;
  topic: string;
  /** What is published: the action's payload, filled in. */
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
}

/** One emission of a rule: an alert or a derived event (`draft.type`), with its actions. */
export interface AlertIntent {
  rule: CompiledRule;
  group: string;
  state: AlertState;
  draft: EventDraft;
  topic: string;
  /** The rule's actions as Commands: only a raise has them. */
  actions: ActionCommand[];
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
  /** The incident it belongs to (trace.ts), and the event that directly caused it. */
  correlationId: string | null;
  causationId: string | null;
  /** The event templates read paths from; null for an absence. */
  event: EdgeEvent | null;
  /** When it was decided, on the gateway clock and on the wall clock. */
  now: number;
  wall?: number;
}

/** The id an alert of these facts has (derived events: see trace.ts emissionId). */
export function alertId(rule: string, group: string, key: string, state: AlertState): string {
  return emissionId('Alert', rule, group, key, state);
}

export function buildAlert(gatewayId: string, f: AlertFacts): AlertIntent {
  const { rule } = f;
  const { emit } = rule;
  const ctx: TemplateContext = {
    rule: rule.id, group: f.group, state: f.state, severity: emit.severity, correlationId: f.correlationId,
    aggregates: f.aggregates, event: f.event,
  };
  const topic = fillTopic(emit.topic, ctx);
  const id = emissionId(emit.type, rule.id, f.group, f.key, f.state);
  const timestamp = isoTime(f.wall ?? f.now);
  const draft = gatewayDraft(gatewayId, {
    id, type: emit.type, timestamp, receivedAt: f.now, priority: emit.priority,
    payload: emit.type === 'Alert' ? alertPayload(f, ctx) : fillPayload(emit.payload ?? {}, ctx) as JsonObject,
    correlationId: f.correlationId, causationId: f.causationId,
  });
  if (emit.type === 'Command') {
    setDevice(draft, topic);
    // What a device on the topic reads: the payload alone, as from upstream commands.
    draft.delivery = { topic, payload: Buffer.from(JSON.stringify(draft.payload)), qos: 1, retain: false };
  }
  const actions = f.state === 'raised'
    ? rule.actions.map((a, i): ActionCommand => {
      const text = fillTemplate(a.publish.payload, ctx);
      const actionTopic = fillTopic(a.publish.topic, ctx);
      const command = gatewayDraft(gatewayId, {
        id: actionCommandId(id, i), type: 'Command', timestamp, receivedAt: f.now, priority: emit.priority,
        payload: commandPayload(text),
        // The chain goes on through the emission: it caused the command.
        correlationId: f.correlationId, causationId: id,
      });
      setDevice(command, actionTopic);
      const payload = Buffer.from(text);
      command.delivery = { topic: actionTopic, payload, qos: a.publish.qos, retain: a.publish.retain };
      return { draft: command, topic: actionTopic, payload, qos: a.publish.qos, retain: a.publish.retain };
    })
    : [];
  return { rule, group: f.group, state: f.state, draft, topic, actions };
}

function alertPayload(f: AlertFacts, ctx: TemplateContext): JsonObject {
  const { rule } = f;
  const payload: JsonObject = {
    rule: rule.id, group: f.group, state: f.state, severity: rule.emit.severity, message: fillTemplate(rule.emit.message, ctx),
    aggregates: { ...f.aggregates }, events: f.ids.slice(-MAX_EVENT_IDS),
  };
  if (rule.description !== null) payload.description = rule.description;
  return payload;
}

interface GatewayDraftParts {
  id: string;
  type: EventDraft['type'];
  timestamp: string;
  receivedAt: number;
  priority: Priority;
  payload: JsonObject;
  correlationId: string | null;
  causationId: string | null;
}

function gatewayDraft(gatewayId: string, p: GatewayDraftParts): EventDraft {
  return {
    id: p.id,
    type: p.type,
    source: gatewayId,
    timestamp: p.timestamp,
    payload: p.payload,
    metadata: { correlationId: p.correlationId, causationId: p.causationId, version: '1', priority: p.priority, ttl: null },
    deviceSeq: null,
    explicitId: true,
    idForLife: true,
    receivedAt: p.receivedAt,
  };
}

/** A command on `cmd/<device>[/…]` is for that device, as an upstream command is. */
function setDevice(draft: EventDraft, topic: string): void {
  const device = deviceOfTopic(topic);
  if (device !== null) draft.device = { id: device };
}
