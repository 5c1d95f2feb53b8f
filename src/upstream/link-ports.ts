// What the upstream link offers and asks for (its options, events, the messages it holds for
// the gateway and the presence a format may put in place of edgebus's own), apart from
// the link itself (link.ts), so ports and formats can name them without the MQTT client.
import type { UpstreamConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import type { ProtocolVersion } from './link-attempt.js';

/** A publish the broker answered: acknowledged, or refused with an MQTT 5 reason code >= 0x80. */
export type PublishOutcome = { ok: true } | { ok: false; reasonCode: number; reason: string };

export interface UpstreamCommand {
  topic: string;
  /** The topic level(s) the command filter's trailing `#` matched, joined by '/'. */
  device: string;
  payload: Buffer;
}

export interface LinkEvents {
  up: [{ protocolVersion: ProtocolVersion }];
  down: [{ reason: string; error: Error }];
  retry: [{ attempt: number; delayMs: number; error: Error }];
  command: [UpstreamCommand];
}

export interface UpstreamLinkOptions {
  config: UpstreamConfig;
  gatewayId: string;
  version: string;
  log: Logger;
  /**
   * Stores a command before the cloud gets its PUBACK (the promise resolves once it is
   * durable); without it commands are only emitted as `command` events.
   */
  onCommand?: (cmd: UpstreamCommand) => Promise<void>;
  /**
   * Topics of retained documents the gateway follows (desired state): subscribed with
   * retained messages wanted, each message handed over as is and acknowledged at once
   * (the broker keeps the retained copy, so a lost one comes back on the next connect).
   */
  documentTopics?: readonly string[];
  onDocument?: (topic: string, payload: Buffer) => void;
  /**
   * How the link presents itself in place of the edgebus status topic and the command
   * topic (Sparkplug B: an NDEATH Will, STATE and NCMD/DCMD subscriptions); absent: edgebus's own.
   */
  presence?: LinkPresence;
  /** for the backoff's jitter; tests inject a fixed one */
  random?: () => number;
}

/** A message the broker is to hold or publish on the gateway's behalf. */
export interface LinkMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
}

export interface LinkPresence {
  /** Called once per CONNECT, in attempt order: that connection's Will. */
  will(): LinkMessage;
  /** Topic filters subscribed (QoS 1, retained messages wanted) instead of the command topic. */
  readonly topics: readonly string[];
  /**
   * A message on one of those topics; a QoS 1 one is acknowledged once this resolves.
   * `retain`: the broker's stored copy, not a live message.
   */
  onMessage(topic: string, payload: Buffer, retain: boolean): Promise<void>;
  /** Published before a deliberate DISCONNECT, which makes the broker drop the Will. */
  farewell(): LinkMessage;
}
