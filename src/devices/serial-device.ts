// A device that speaks a framed byte stream (SPEC §6: json, csv, kv, nmea, regex, hex):
// the port is cut into frames, each frame decoded by the profile's format. Commands are
// written to it; a polled device is asked on a schedule and must answer in time.
import type { SerialPort } from 'serialport';
import type { Logger } from '../util/log.js';
import type { DeviceSinks } from './device-events.js';
import type { DeviceConnection } from './device-link.js';
import { PortDevice } from './port-device.js';
import { createFramer } from './framing.js';
import { createDecoder } from './formats/index.js';
import { Poller } from './poller.js';
import { openPort } from './serial-binding.js';
import { FrameError, type DeviceProfile, type FrameDecoder } from './types.js';

export function openSerial(path: string, profile: DeviceProfile): Promise<SerialPort> {
  const s = profile.serial;
  return openPort({
    path, baudRate: s.baudRate, dataBits: s.dataBits, parity: s.parity, stopBits: s.stopBits,
    rtscts: s.rtscts, xon: s.xon, xoff: s.xoff,
  });
}

/** Settles when the port is gone: closed under us (unplugged) or failing to read. */
export function portClosed(port: SerialPort, log: Logger, id: string): Promise<string> {
  return new Promise((resolve) => {
    port.once('close', (err: (Error & { disconnected?: boolean }) | null) => resolve(err?.disconnected ? 'unplugged' : err?.message ?? 'closed'));
    port.on('error', (err: Error) => {
      log.debug({ device: id, err }, 'serial port error');
      if (port.isOpen) port.close(() => {});
      else resolve(err.message);
    });
  });
}

export class SerialDevice extends PortDevice {
  private readonly decode: FrameDecoder;
  private port: SerialPort | null = null;
  private poller: Poller | null = null;

  constructor(profile: DeviceProfile, sinks: DeviceSinks) {
    super(profile, sinks);
    this.decode = createDecoder(profile);
  }

  protected async connect(path: string): Promise<DeviceConnection> {
    const port = await openSerial(path, this.profile);
    const closed = portClosed(port, this.sinks.log, this.profile.id);
    const framer = createFramer(this.profile.framing);
    port.pipe(framer);
    framer.on('data', (frame: Buffer) => this.onFrame(frame));
    this.port = port;
    const poll = this.profile.poll;
    if (poll !== null && poll.write !== null) {
      const request = poll.write;
      this.poller = new Poller(poll, {
        ask: () => {
          this.write(request);
        },
        silent: (n) => this.events.announce('offline', `no answer to ${n} polls`),
      });
    }
    return {
      closed: closed.finally(() => this.detach()),
      close: () => new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
    };
  }

  protected detach(): void {
    this.poller?.stop();
    this.poller = null;
    this.port = null;
  }

  private onFrame(frame: Buffer): void {
    this.poller?.answered();
    // After polls went unanswered the device was said offline: an answer brings it back.
    this.events.announce('online', null);
    let decoded;
    try {
      decoded = this.decode(frame);
    } catch (err) {
      const detail = err instanceof FrameError ? err.message : `internal error: ${(err as Error).message}`;
      return this.events.reject(frame, { reason: 'undecodable-frame', detail });
    }
    this.events.frame(decoded, frame);
  }

  /** Writes to the device if its port is open; false when it is not. */
  write(bytes: Buffer): boolean {
    const port = this.port;
    if (port === null || !port.isOpen) return false;
    port.write(bytes);
    return true;
  }
}
