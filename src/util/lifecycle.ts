// The daemon as a list of components (the Zigbee2MQTT extension pattern): each has a name,
// start() and stop(); they start in order, and stop in reverse — the order is the list.
import type { Logger } from './log.js';

export interface Component {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export class ComponentStartError extends Error {
  constructor(readonly component: string, cause: unknown) {
    super(`${component} did not start: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'ComponentStartError';
  }
}

export class Lifecycle {
  private readonly started: Component[] = [];

  constructor(private readonly log: Logger) {}

  /** Starts one component; a failure names it. Once started, it is stopped by stop(). */
  async start(component: Component): Promise<void> {
    try {
      await component.start();
    } catch (err) {
      throw new ComponentStartError(component.name, err);
    }
    this.started.push(component);
  }

  /** Stops what started, newest first; one that fails is logged and the rest still stop. */
  async stop(): Promise<void> {
    for (let c = this.started.pop(); c !== undefined; c = this.started.pop()) {
      try {
        await c.stop();
      } catch (err) {
        this.log.error({ err, component: c.name }, `${c.name} did not stop cleanly`);
      }
    }
  }
}
