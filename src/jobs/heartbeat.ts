// The heartbeat (SPEC §2 `schedules.heartbeat`): a SystemEvent with the gateway's figures,
// stored and forwarded like any event, so the cloud sees a quiet gateway is alive and how
// far behind it is.
import { systemEventDraft } from '../events/system-event.js';
import type { EventDraft, JsonObject } from '../events/types.js';

export function heartbeatDraft(gatewayId: string, stats: JsonObject, now: number): EventDraft {
  // Low: under the disk cap a heartbeat is the first thing worth losing.
  return systemEventDraft(gatewayId, { kind: 'heartbeat', ...stats }, now, 'low');
}
