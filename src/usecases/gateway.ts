// What the use cases (status, the DLQ, replay, the heartbeat) work on: the running parts
// of the gateway. The core exists from the moment the HTTP API answers; the rest is null
// until it has started (upstream stays null on a store-only gateway).
import type { Config } from '../config/types.js';
import type { DevicesService } from '../devices/devices-service.js';
import type { IngestRate } from '../http/rate.js';
import type { Summary } from '../http/summary.js';
import type { Broker } from '../ingest/broker.js';
import type { TopicRouter } from '../ingest/topics.js';
import type { DiskWatch } from '../jobs/disk-watch.js';
import type { Appender } from '../pipeline/appender.js';
import type { EventBus } from '../pipeline/bus.js';
import type { ClockService } from '../pipeline/clock-service.js';
import type { RulesService } from '../rules/rules-service.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import type { EventStore } from '../store/event-store.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Logger } from '../util/log.js';
import type { DeadLetterCount } from './dead-letters.js';
import type { HealthState } from './health.js';

export interface Gateway {
  readonly config: Config;
  readonly log: Logger;
  readonly bus: EventBus;
  readonly health: HealthState;
  readonly store: EventStore;
  readonly clocks: ClockService;
  readonly appender: Appender;
  readonly router: TopicRouter;
  readonly deadLetters: DeadLetterCount;
  readonly ingestRate: IngestRate;
  /** Events by type, errors, latencies and the sensor table since the start. */
  readonly summary: Summary;
  readonly disk: DiskWatch;
  /** The payload schemas of `schemasDir`, loaded at the start (empty without any). */
  readonly schemas: SchemaRegistry;
  /** The gateway clock when the daemon started. */
  readonly startedAt: number;
  broker: Broker | null;
  rules: RulesService | null;
  devices: DevicesService | null;
  upstream: Upstream | null;
}

export function uptimeSeconds(g: Gateway): number {
  return Math.round((g.clocks.clock.now() - g.startedAt) / 1000);
}
