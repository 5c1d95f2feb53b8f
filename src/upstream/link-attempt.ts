// One connection attempt to the upstream broker, apart from the link that keeps retrying
// them: the client's options (read afresh per attempt, so renewed certificates are picked
// up), how a broker says it does not speak MQTT 5, and how a client is ended in bounded time.
import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { UpstreamConfig } from '../config/types.js';

export type ProtocolVersion = 4 | 5;

export const JSON_TYPE = 'application/json';

/** Long enough for a TLS handshake over a poor uplink, short enough to retry a dead one soon. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Ending a client waits this long for a polite DISCONNECT before it drops the socket. */
const STOP_END_TIMEOUT_MS = 1_000;
/** CONNACK codes by which a broker says it does not speak the protocol version asked for. */
const UNSUPPORTED_PROTOCOL = new Set([0x01, 0x84]);

/** One connection: its client, the protocol it asked for, and how it ended. */
export interface Attempt {
  client: MqttClient;
  version: ProtocolVersion;
  first: boolean;
  acked: boolean;
  /** Maximum Packet Size from the MQTT 5 CONNACK */
  maxPacketSize: number | null;
  failure?: Error;
  detach: () => void;
}

/** One attempt's options: a fresh clean session, no MQTT.js reconnects, the retained offline Will. */
export function clientOptions(c: UpstreamConfig, version: ProtocolVersion, statusTopic: string, gatewayId: string, ownWill?: NonNullable<IClientOptions['will']>): IClientOptions {
  const will: IClientOptions['will'] = ownWill ?? {
    topic: statusTopic,
    payload: Buffer.from(JSON.stringify({ state: 'offline', gatewayId })),
    qos: 1,
    retain: true,
  };
  if (version === 5 && !ownWill) will.properties = { contentType: JSON_TYPE };
  const opts: IClientOptions = {
    protocolVersion: version,
    clientId: c.clientId,
    clean: true,
    reconnectPeriod: 0,
    resubscribe: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    keepalive: Math.max(1, Math.round(c.keepalive / 1000)),
    rejectUnauthorized: c.rejectUnauthorized,
    will,
  };
  if (c.username !== undefined) opts.username = c.username;
  if (c.password !== undefined) opts.password = c.password;
  // Read on every attempt: renewed certificates are picked up without a restart.
  if (c.ca) opts.ca = readFileSync(c.ca);
  if (c.cert) opts.cert = readFileSync(c.cert);
  if (c.key) opts.key = readFileSync(c.key);
  return opts;
}

export function refusesMqtt5(attempt: Attempt): boolean {
  const code = (attempt.failure as (Error & { code?: unknown }) | undefined)?.code;
  if (typeof code === 'number') return UNSUPPORTED_PROTOCOL.has(code);
  return attempt.first && attempt.failure === undefined;
}

export function isTopicName(topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\0');
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A connected client sends DISCONNECT (so the broker drops the will) and closes; one that
 * does not answer in time, or never got its CONNACK, just loses its socket.
 */
export async function endClient(client: MqttClient, graceful: boolean): Promise<void> {
  try {
    await withTimeout(client.endAsync(!graceful), STOP_END_TIMEOUT_MS);
  } catch {
    client.stream?.destroy();
  }
}
