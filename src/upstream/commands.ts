// Downlink (SPEC §4): a message on the upstream command topic becomes a `Command` event,
// stored like any other before it is delivered, so the log says what the gateway was told.
import { commandPayloadOf } from '../events/command-payload.js';
import { isoTime } from '../events/iso-time.js';
import { defaultMetadata, type EventDraft, type JsonValue } from '../events/types.js';

/** Publisher ids longer than this are not trusted as ids (same bound as ingest). */
const MAX_ID_LENGTH = 256;

export interface CommandMessage {
  /** The device the command is for: the topic levels under the command filter. */
  device: string;
  payload: Buffer;
}

/** The envelope keys that place a command in a chain: they go to the event's metadata. */
const CHAIN_KEYS = ['correlationId', 'causationId'] as const;

/**
 * A JSON object is the command's payload as is; anything else is kept under `value` (text)
 * or `raw` (base64, when it is not UTF-8). A string `id` in the object becomes the event id,
 * so a command the cloud delivers twice (QoS 1) is stored and delivered once. String
 * `correlationId` and `causationId` (1 to 256 characters, like ids) leave the payload for
 * the event's metadata; without them the command starts a chain of its own. One of another
 * shape stays in the payload, where it can be seen, and `warn` says why it was not taken.
 */
export function commandDraft(gatewayId: string, msg: CommandMessage, now: number, warn: (detail: string) => void = () => {}): EventDraft {
  const { payload, isObject } = commandPayloadOf(msg.payload);
  let id: string | null = null;
  const metadata = defaultMetadata('normal');
  if (isObject) {
    if (isIdLike(payload.id)) id = payload.id;
    for (const key of CHAIN_KEYS) {
      const v = payload[key];
      if (v === undefined) continue;
      if (v === null) {
        // Says "no chain", as leaving it out does.
        delete payload[key];
        continue;
      }
      if (!isIdLike(v)) {
        warn(`${key} must be a string of 1 to ${MAX_ID_LENGTH} characters; kept in the payload, not taken as the command's ${key}`);
        continue;
      }
      metadata[key] = v;
      delete payload[key];
    }
  }
  return {
    id,
    type: 'Command',
    source: gatewayId,
    timestamp: isoTime(now),
    payload,
    device: { id: msg.device },
    metadata,
    deviceSeq: null,
    explicitId: id !== null,
    receivedAt: now,
  };
}

function isIdLike(v: JsonValue | undefined): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}

/** The local topic a device listens on for its commands. */
export function commandTopic(device: string): string {
  return `cmd/${device}`;
}
