// How a sink copy meets the broker: MQTT 5, TLS and credentials as `upstream` has them.
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { SinkConfig } from '../config/types.js';

export function brokerOptions(c: SinkConfig): IClientOptions {
  return {
    protocolVersion: 5,
    username: c.username,
    password: c.password,
    ca: c.ca === undefined ? undefined : readFileSync(c.ca),
    cert: c.cert === undefined ? undefined : readFileSync(c.cert),
    key: c.key === undefined ? undefined : readFileSync(c.key),
    rejectUnauthorized: c.rejectUnauthorized,
    keepalive: Math.max(1, Math.round(c.keepalive / 1000)),
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
  };
}

/** `$share/{group}/{topic}`: the broker hands each batch to one member of the group. */
export const sharedFilter = (c: SinkConfig): string => `$share/${c.group}/${c.topic}`;

/**
 * The client id of each of a copy's connections (`connections`), each a member of the group
 * with a persistent session of its own. The first is `clientId` itself, so a copy that had
 * one connection keeps its session (and what the broker holds in it) when given more.
 */
export function memberClientIds(c: SinkConfig): string[] {
  const ids = [c.clientId];
  for (let i = 2; i <= c.connections; i++) ids.push(`${c.clientId}-c${i}`);
  return ids;
}
