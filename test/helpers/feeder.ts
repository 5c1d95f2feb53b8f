// Devices that keep publishing through a daemon's refusals and restarts: each fault ends a
// load (test/helpers/load.ts), the next carries on the same devices' readings, so the
// acknowledged set spans every fault.
import { startLoad, type Device, type Load } from './load.js';

export interface FeederOptions {
  devices: number;
  inflight: number;
  /** How long a refused device waits before it connects again, as a real one would. */
  pauseMs: number;
}

export class Feeder {
  devices: Device[] | undefined;
  private stopped = false;
  private current: Load | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly opts: FeederOptions) {}

  start(brokerUrl: () => string): void {
    this.done = (async () => {
      while (!this.stopped) {
        try {
          const load = await startLoad(brokerUrl(), { devices: this.opts.devices, inflight: this.opts.inflight, prefix: 'feed' }, this.devices);
          this.devices = load.devices;
          this.current = load;
          if (this.stopped) load.stop();
          await load.done;
          await load.close();
        } catch {
          await new Promise((r) => setTimeout(r, this.opts.pauseMs));
        }
      }
    })();
  }

  acked(): number {
    return (this.devices ?? []).reduce((n, d) => n + d.acked.size, 0);
  }

  ackedIds(): string[] {
    return (this.devices ?? []).flatMap((d) => [...d.acked]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.stop();
    await this.done;
    await this.current?.close();
  }
}
