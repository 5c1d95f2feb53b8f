// Downlink (SPEC §4): a message on the upstream command topic becomes a `Command` event,
// stored like any other before it is delivered, so the log says what the gateway was told.
import { isoTime } from '../events/iso-time.js';
import { defaultMetadata, type EventDraft, type JsonObject, type JsonValue } from '../events/types.js';

/** Publisher ids longer than this are not trusted as ids (same bound as ingest). */
const MAX_ID_LENGTH = 256;

export interface CommandMessage {
  /** The device the command is for: the topic levels under the command filter. */
  device: string;
  payload: Buffer;
}

/**
 * A JSON object is the command's payload as is; anything else is kept under `value` (text)
 * or `raw` (base64, when it is not UTF-8). A string `id` in the object becomes the event id,
 * so a command the cloud delivers twice (QoS 1) is stored and delivered once.
 */
export function commandDraft(gatewayId: string, msg: CommandMessage, now: number): EventDraft {
  let payload: JsonObject;
  let id: string | null = null;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(msg.payload);
  const isUtf8 = Buffer.from(text, 'utf8').equals(msg.payload);
  let parsed: JsonValue | undefined;
  if (isUtf8) {
    try {
      parsed = JSON.parse(text) as JsonValue;
    } catch {
      parsed = undefined;
    }
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    payload = parsed;
    if (typeof parsed.id === 'string' && parsed.id.length > 0 && parsed.id.length <= MAX_ID_LENGTH) id = parsed.id;
  } else if (isUtf8) {
    payload = { value: parsed === undefined ? text : parsed };
  } else {
    payload = { raw: msg.payload.toString('base64') };
  }
  return {
    id,
    type: 'Command',
    source: gatewayId,
    timestamp: isoTime(now),
    payload,
    device: { id: msg.device },
    metadata: defaultMetadata('normal'),
    deviceSeq: null,
    explicitId: id !== null,
    receivedAt: now,
  };
}

/** The local topic a device listens on for its commands. */
export function commandTopic(device: string): string {
  return `cmd/${device}`;
}
