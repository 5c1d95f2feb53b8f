// The gateway's own events (`SystemEvent`, source: the gateway): heartbeats, sequence gaps
// and resets, evictions, clock steps, a quarantined store. One shape for all of them.
import { isoTime } from './iso-time.js';
import { defaultMetadata, type EventDraft, type JsonObject, type Priority } from './types.js';

/** `receivedAt`: the gateway clock; the appender stamps the wall-clock timestamp from it. */
export function systemEventDraft(gatewayId: string, payload: JsonObject, receivedAt: number, priority: Priority = 'normal'): EventDraft {
  return {
    id: null,
    type: 'SystemEvent',
    source: gatewayId,
    timestamp: isoTime(receivedAt),
    payload,
    metadata: defaultMetadata(priority),
    deviceSeq: null,
    explicitId: false,
    receivedAt,
  };
}
