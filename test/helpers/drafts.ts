// Event drafts as the broker makes them: a topic through the default ingest mappings,
// then normalize(). Keeps unit and store tests free of hand-built drafts.
import type { IngestMapping } from '../../src/config/schema.js';
import type { EventDraft } from '../../src/events/types.js';
import { normalize, type Normalized } from '../../src/ingest/normalize.js';
import { TopicRouter, type TopicMatch } from '../../src/ingest/topics.js';

export const DEFAULT_MAPPINGS: IngestMapping[] = [
  { topic: 'sensors/{device}/{sensor}', type: 'DeviceData' },
  { topic: 'devices/{device}/status', type: 'DeviceStatus' },
];

const router = new TopicRouter(DEFAULT_MAPPINGS);

export function route(topic: string): TopicMatch {
  const match = router.match(topic);
  if (!match) throw new Error(`no ingest mapping for ${topic}`);
  return match;
}

/** normalize() of `payload` (a string, an object as JSON, or raw bytes) published on `topic`. */
export function normalizeOn(topic: string, payload: string | object | Buffer, receivedAt: number): Normalized {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return normalize(route(topic), bytes, receivedAt);
}

/** A draft that must normalize; throws with the rejection otherwise. */
export function draftOn(topic: string, payload: string | object | Buffer, receivedAt: number): EventDraft {
  const n = normalizeOn(topic, payload, receivedAt);
  if (!n.ok) throw new Error(`unexpected rejection: ${n.rejection.reason}: ${n.rejection.detail}`);
  return n.draft;
}

/** A DeviceData reading from `device` carrying the device counter `seq`. */
export function seqDraft(device: string, seq: number, receivedAt: number, value = seq): EventDraft {
  return draftOn(`sensors/${device}/temperature`, { value, seq }, receivedAt);
}
