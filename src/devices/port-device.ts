// What every device adapter is: a profile, the link that keeps its port open, and the
// events it makes. Subclasses say what opening the port means and what they read from it.
import { DeviceEvents, type DeviceSinks, type DeviceStatusInfo } from './device-events.js';
import { DeviceLink, type DeviceConnection } from './device-link.js';
import type { DeviceProfile } from './types.js';

export abstract class PortDevice {
  readonly events: DeviceEvents;
  protected readonly link: DeviceLink;

  constructor(readonly profile: DeviceProfile, protected readonly sinks: DeviceSinks) {
    this.events = new DeviceEvents(profile, sinks);
    this.link = new DeviceLink({
      id: profile.id, serial: profile.serial, log: sinks.log,
      connect: (path) => this.connect(path),
      onState: (state, reason) => this.events.announce(state, reason),
    });
  }

  /** Opens the port at `path` and starts reading it. */
  protected abstract connect(path: string): Promise<DeviceConnection>;

  /** Stops what connect() started (timers); the port itself is closed by the link. */
  protected abstract detach(): void;

  /** Writes a command to the device if its port is open; false when it is not (or takes none). */
  abstract write(bytes: Buffer): boolean;

  start(): void {
    this.link.start();
  }

  /** Settles once the first attempt to open the port has ended, whichever way. */
  firstAttempt(): Promise<void> {
    return this.link.firstAttempt;
  }

  status(): DeviceStatusInfo {
    const { state, path, reason } = this.link.current;
    return { id: this.profile.id, format: this.profile.format, state, path, reason, lastReading: this.events.lastReading, ...this.events.counters };
  }

  async stop(): Promise<void> {
    this.detach();
    await this.link.stop();
  }
}
