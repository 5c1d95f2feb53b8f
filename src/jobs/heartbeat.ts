// The heartbeat (SPEC §2 `schedules.heartbeat`): a SystemEvent with the gateway's figures,
// stored and forwarded like any event, so the cloud sees a quiet gateway is alive and how
// far behind it is.
import { isoTime } from '../events/iso-time.js';
import { defaultMetadata, type EventDraft, type JsonObject } from '../events/types.js';

export function heartbeatDraft(gatewayId: string, stats: JsonObject, now: number): EventDraft {
  return {
    id: null,
    type: 'SystemEvent',
    source: gatewayId,
    timestamp: isoTime(now),
    payload: { kind: 'heartbeat', ...stats },
    // Low: under the disk cap a heartbeat is the first thing worth losing.
    metadata: defaultMetadata('low'),
    deviceSeq: null,
    explicitId: false,
    receivedAt: now,
  };
}
