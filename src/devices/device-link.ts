// Keeps one device's port open: finds it (path, by-id link or USB match), opens it, and
// when it goes away — unplugged, the adapter reset, the device stopped answering — says
// so and tries again with backoff, for as long as the daemon runs. What "open" means is
// the caller's (a framed stream, a Modbus client); the link only sequences it.
import { Backoff, type BackoffPolicy } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { findPort, type PortLister } from './port-finder.js';
import type { SerialSpec } from './types.js';

/** An open port as the caller made it. */
export interface DeviceConnection {
  /** Settles, with the reason, when the port is gone. */
  readonly closed: Promise<string>;
  close(): Promise<void>;
}

export type LinkState = 'opening' | 'online' | 'offline' | 'stopped';

export interface DeviceLinkOptions {
  id: string;
  serial: SerialSpec;
  connect: (path: string) => Promise<DeviceConnection>;
  /** A change between online and offline (the first failure to open counts as one). */
  onState: (state: 'online' | 'offline', reason: string | null, path: string | null) => void;
  log: Logger;
  backoff?: BackoffPolicy;
  list?: PortLister;
}

/** A Pi's USB bus re-enumerates within a second or two; a device left unplugged is polled every 30 s. */
export const REOPEN_BACKOFF: BackoffPolicy = { initialDelay: 500, maxDelay: 30_000, multiplier: 2, jitter: true };

export class DeviceLink {
  private state: LinkState = 'opening';
  private said: 'online' | 'offline' | null = null;
  private conn: DeviceConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private path: string | null = null;
  private lastReason: string | null = null;
  private loop: Promise<void> = Promise.resolve();
  private settleFirst: () => void = () => {};
  /** Settles once the first attempt to open has ended, open or not (or the link stopped). */
  readonly firstAttempt: Promise<void> = new Promise((resolve) => (this.settleFirst = resolve));

  constructor(private readonly opts: DeviceLinkOptions) {
    this.backoff = new Backoff(opts.backoff ?? REOPEN_BACKOFF);
  }

  get current(): { state: LinkState; path: string | null; reason: string | null } {
    return { state: this.state, path: this.path, reason: this.lastReason };
  }

  /** Read through a method: the awaits between checks let stop() change it. */
  private stopped(): boolean {
    return this.state === 'stopped';
  }

  start(): void {
    this.loop = this.attempt();
  }

  private async attempt(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'opening';
    let reason: string;
    try {
      const found = await findPort(this.opts.serial, this.opts.list);
      if ('missing' in found) throw new Error(found.missing);
      this.path = found.path;
      const conn = await this.opts.connect(found.path);
      if (this.stopped()) {
        await conn.close();
        return;
      }
      this.conn = conn;
      this.state = 'online';
      this.backoff.reset();
      this.tell('online', null);
      this.opts.log.info({ device: this.opts.id, path: found.path }, `device ${this.opts.id} open on ${found.path}`);
      reason = await conn.closed;
      this.conn = null;
      if (this.stopped()) return;
    } catch (err) {
      reason = (err as Error).message;
    }
    this.state = 'offline';
    this.lastReason = reason;
    this.tell('offline', reason);
    const delay = this.backoff.next();
    this.opts.log.debug({ device: this.opts.id, reason, retryInMs: delay }, `device ${this.opts.id} not open; trying again`);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.loop = this.attempt();
    }, delay);
  }

  /** Each change once: a port that stays missing is not reported on every retry. */
  private tell(state: 'online' | 'offline', reason: string | null): void {
    this.settleFirst();
    if (this.said === state) return;
    this.said = state;
    if (state === 'offline') this.opts.log.warn({ device: this.opts.id, reason }, `device ${this.opts.id} offline: ${reason}`);
    this.opts.onState(state, reason, this.path);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.settleFirst();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.conn?.close();
    await this.loop;
  }
}
