// How a Command's bytes are kept as its event payload, whoever sent them (the cloud, or a
// rule's action): a JSON object as is; other JSON or text under `value`; bytes that are not
// UTF-8 under `raw` (base64).
import type { JsonObject, JsonValue } from './types.js';

export interface CommandPayload {
  payload: JsonObject;
  /** True when the bytes were a JSON object (the payload is that object). */
  isObject: boolean;
}

export function commandPayloadOf(bytes: Buffer): CommandPayload {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (!Buffer.from(text, 'utf8').equals(bytes)) return { payload: { raw: bytes.toString('base64') }, isObject: false };
  let parsed: JsonValue | undefined;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return { payload: parsed, isObject: true };
  return { payload: { value: parsed === undefined ? text : parsed }, isObject: false };
}
