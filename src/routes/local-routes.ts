// Routes to the gateway's own broker: each durable event a local route takes is published,
// as JSON, on the route's topic. They follow the bus's `appended`, which comes after the
// commit, so nothing is published that a crash could still lose from the log; they are not
// replayed after a restart (local consumers see the live stream; the log has the rest).
import type { RouteConfig } from '../config/types.js';
import type { EdgeEvent } from '../events/types.js';
import type { EventBus } from '../pipeline/bus.js';
import type { Logger } from '../util/log.js';
import { byPriority, compileRoute, type CompiledRoute } from './route.js';

export interface LocalRoutesOptions {
  routes: readonly RouteConfig[];
  gatewayId: string;
  bus: EventBus;
  publish: (topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;
  /** An event's time on the gateway clock, for interval sampling. */
  timeOf: (e: EdgeEvent) => number;
  log: Logger;
}

const OWNER = 'local-routes';
const QOS1 = { qos: 1, retain: false } as const;

export class LocalRoutes {
  private readonly routes: CompiledRoute[];

  constructor(private readonly opts: LocalRoutesOptions) {
    const all = opts.routes.map((r, i) => compileRoute(r, opts.gatewayId, ['routes', i]));
    this.routes = byPriority(all.filter((r) => r.destination === 'local'));
  }

  get size(): number {
    return this.routes.length;
  }

  start(): void {
    if (this.routes.length === 0) return;
    this.opts.bus.on(OWNER, 'appended', (events) => this.route(events));
  }

  stop(): void {
    this.opts.bus.removeOwner(OWNER);
  }

  private route(events: readonly EdgeEvent[]): void {
    for (const e of events) {
      let payload: Buffer | null = null;
      const sent = new Set<string>();
      for (const r of this.routes) {
        if (!r.matches(e)) continue;
        if (r.sampler !== null && !r.sampler.keep(e, this.opts.timeOf(e))) continue;
        const topic = r.topic(e);
        if (sent.has(topic)) continue;
        sent.add(topic);
        payload ??= Buffer.from(JSON.stringify(e));
        this.opts.publish(topic, payload, QOS1).catch((err: unknown) => this.opts.log.warn({ err, route: r.name, topic }, 'local route: publish failed'));
      }
    }
  }
}
