// `edgebus status` and `/api/status` (SPEC §1, §7), and the figures the heartbeat carries:
// one place that reads the gateway's state for people and for the cloud.
import { heartbeatDraft } from '../jobs/heartbeat.js';
import { version } from '../version.js';
import { uptimeSeconds, type Gateway } from './gateway.js';

async function diskStatus(g: Gateway): Promise<{ freeBytes: number; minFree: number; low: boolean } | null> {
  try {
    const { freeBytes, minFree, low } = await g.disk.read();
    return { freeBytes, minFree, low };
  } catch {
    return null;
  }
}

export async function gatewayStatus(g: Gateway): Promise<object> {
  const { appender, store } = g;
  return {
    version,
    gatewayId: g.config.gatewayId,
    state: g.health.current,
    uptimeSeconds: uptimeSeconds(g),
    lastSeq: appender.seq,
    stagedEvents: appender.stagedCount(),
    ingestRatePerSecond: Math.round(g.ingestRate.perSecond() * 100) / 100,
    clock: g.clocks.status(),
    // null while the store is closed (its reopen after a failed write failed too).
    storeEvents: await store.eventCount(appender.seq).catch(() => null),
    storeBytes: await store.approximateBytes().catch(() => null),
    disk: await diskStatus(g),
    dlqEvents: g.deadLetters.size,
    clients: g.broker?.connectedClients ?? 0,
    upstream: g.upstream ? await g.upstream.status() : null,
    rules: g.rules?.status() ?? null,
    devices: g.devices?.status() ?? null,
    ...g.summary.snapshot(),
  };
}

/** The heartbeat SystemEvent (schedules.heartbeat): skipped while the store is unavailable. */
export async function appendHeartbeat(g: Gateway): Promise<void> {
  const { appender } = g;
  if (g.health.current !== 'ok') return;
  const up = g.upstream ? await g.upstream.status() : null;
  await appender.append(heartbeatDraft(g.config.gatewayId, {
    uptimeSeconds: uptimeSeconds(g),
    lastSeq: appender.seq,
    storeBytes: await g.store.approximateBytes(),
    dlqEvents: g.deadLetters.size,
    clients: g.broker?.connectedClients ?? 0,
    upstreamConnected: up?.connected ?? false,
    backlog: up?.backlog ?? 0,
    oldestUnsentSeconds: up?.oldestUnsentSeconds ?? 0,
    forwarded: up?.forwarded ?? 0,
  }, appender.clock.now()));
}
