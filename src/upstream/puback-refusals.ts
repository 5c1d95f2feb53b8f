// How a broker's refusal of a QoS 1 publish reaches the link: an MQTT 5 PUBACK reason
// code of 0x80 or more, as MQTT.js reports it — and mosquitto 2.0's 0x95, which MQTT.js
// would otherwise not read at all.
import { createRequire } from 'node:module';
import mqtt, { type Packet } from 'mqtt';
import type { Logger } from '../util/log.js';

let pubackCodesPatched = false;

/**
 * mosquitto 2.0 answers a QoS 1 PUBLISH over its message_size_limit with PUBACK 0x95
 * (Packet too large), a code MQTT 5 does not list for PUBACK. mqtt-packet, MQTT.js's
 * parser, rejects that packet, and the rejection leaves its parser out of step with the
 * stream: the publish would never settle and the link would only die at keepalive.
 * Teaching the parser every MQTT 5 error code (>= 0x80) for PUBACK/PUBREC turns it into the
 * refusal it is. The table is mqtt-packet's own, found the way MQTT.js finds it; should it
 * ever be missing, the error handler above still drops the connection at once.
 */
export function acceptEveryPubackRefusal(log: Logger): void {
  if (pubackCodesPatched) return;
  pubackCodesPatched = true;
  try {
    const fromMqtt = createRequire(createRequire(import.meta.url).resolve('mqtt'));
    const constants = fromMqtt('mqtt-packet/constants') as { MQTT5_PUBACK_PUBREC_CODES?: Record<number, string> };
    const table = constants.MQTT5_PUBACK_PUBREC_CODES;
    if (!table) throw new Error('no MQTT5_PUBACK_PUBREC_CODES');
    for (const [code, name] of Object.entries(mqtt.ReasonCodes as Record<number, string>)) {
      if (Number(code) >= 0x80 && !(Number(code) in table)) table[Number(code)] = name;
    }
  } catch (err) {
    log.debug({ err: err instanceof Error ? err.message : String(err) }, 'upstream: could not extend the PUBACK reason codes MQTT.js accepts');
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
