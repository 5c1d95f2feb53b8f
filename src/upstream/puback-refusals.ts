// How a broker's refusal of a QoS 1 publish reaches the link: an MQTT 5 PUBACK reason
// code of 0x80 or more, as MQTT.js reports it — and mosquitto 2.0's 0x95, which MQTT.js
// would otherwise not read at all.
import { createRequire } from 'node:module';
import mqtt, { type Packet } from 'mqtt';
import type { Logger } from '../util/log.js';

/** mosquitto 2.0's answer to a publish over its message_size_limit: Packet too large. */
export const PACKET_TOO_LARGE = 0x95;

/** undefined: not tried yet; null: done; a string: why not. */
let pubackCodesPatch: string | null | undefined;

/**
 * mosquitto 2.0 answers a QoS 1 PUBLISH over its message_size_limit with PUBACK 0x95
 * (Packet too large), a code MQTT 5 does not list for PUBACK. mqtt-packet, MQTT.js's
 * parser, rejects that packet, and the rejection leaves its parser out of step with the
 * stream: the publish would never settle and the link would only die at keepalive.
 * Teaching the parser every MQTT 5 error code (>= 0x80) for PUBACK/PUBREC turns it into the
 * refusal it is. The table is mqtt-packet's own, found the way MQTT.js finds it; should it
 * ever be missing, the error handler above still drops the connection at once — which
 * is worth a warning at start: an oversize event then costs a reconnect each time
 * instead of going to the dead-letter store.
 */
export function acceptEveryPubackRefusal(log: Logger): void {
  if (pubackCodesPatch !== undefined) return;
  pubackCodesPatch = extendPubackCodes();
  if (pubackCodesPatch !== null) {
    log.warn({ reason: pubackCodesPatch }, `upstream: could not extend the PUBACK reason codes MQTT.js accepts (${pubackCodesPatch}): a broker's refusal with a code MQTT 5 does not list for PUBACK, such as mosquitto's 0x95 for an oversize publish, will drop the link instead of dead-lettering the event (npm ci installs the mqtt-packet this edgebus was tested with)`);
  }
}

/**
 * Adds MQTT.js's error reason codes to mqtt-packet's PUBACK/PUBREC table: null once the
 * table holds them, or why it does not — the package, its version, and what moved.
 */
export function extendPubackCodes(): string | null {
  let where = 'mqtt-packet';
  try {
    const fromMqtt = createRequire(createRequire(import.meta.url).resolve('mqtt'));
    where = `mqtt-packet ${(fromMqtt('mqtt-packet/package.json') as { version?: string }).version ?? '(no version)'}`;
    const constants = fromMqtt('mqtt-packet/constants') as { MQTT5_PUBACK_PUBREC_CODES?: unknown };
    const table = constants.MQTT5_PUBACK_PUBREC_CODES;
    // Its parser reads `MQTT5_PUBACK_PUBREC_CODES[code]`: only a plain object of code → name can be taught here.
    if (typeof table !== 'object' || table === null || Array.isArray(table) || table instanceof Map) {
      return `${where}: constants.MQTT5_PUBACK_PUBREC_CODES is ${table instanceof Map ? 'a Map' : Array.isArray(table) ? 'an array' : String(table)}, not an object of code → name`;
    }
    const codes = table as Record<number, string>;
    for (const [code, name] of Object.entries(mqtt.ReasonCodes as Record<number, string>)) {
      if (Number(code) >= 0x80 && !(Number(code) in codes)) codes[Number(code)] = name;
    }
    if (!codes[PACKET_TOO_LARGE]) return `${where}: 0x95 is not in MQTT5_PUBACK_PUBREC_CODES after the patch (is MQTT.js's ReasonCodes table without it, or is the table frozen?)`;
    return null;
  } catch (err) {
    return `${where}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** An MQTT 5 reason code >= 0x80 carried by an MQTT.js ack error (ErrorWithReasonCode). */
export function refusalCode(err: Error): number | undefined {
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'number' && code >= 0x80 ? code : undefined;
}

export function refusalReason(err: Error, code: number, packet: Packet | undefined): string {
  const props = packet && 'properties' in packet ? (packet.properties as { reasonString?: string } | undefined) : undefined;
  if (props?.reasonString) return props.reasonString;
  return (mqtt.ReasonCodes as Record<number, string | undefined>)[code] || err.message;
}

/**
 * A broker without MQTT 5 says so in its CONNACK (3.1.1 code 1, or 0x84), or — some
 * older ones — just closes the socket; the latter only counts on the very first
 * attempt, before anything else can explain a closed connection.
 */
