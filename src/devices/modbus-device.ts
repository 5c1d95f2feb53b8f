// A Modbus RTU slave (SPEC §6 `format: modbus`), read with the modbus-serial package on
// the same port handling as every device: found by path or USB match, reopened with
// backoff, announced online/offline. Each poll reads the profile's registers; the
// readings go the way every frame's do.
import modbusSerial from 'modbus-serial';
import type { ModbusRTU, SerialPortOptions } from 'modbus-serial/ModbusRTU.js';
import type { DeviceSinks } from './device-events.js';
import type { DeviceConnection } from './device-link.js';
import { PortDevice } from './port-device.js';
import { planReads, readingsOf, type RegisterRead } from './modbus-registers.js';
import { SILENT_AFTER } from './poller.js';
import { hangupSafeBinding } from './serial-binding.js';
import { FrameError, type DeviceProfile } from './types.js';

type Client = ModbusRTU;
// A CommonJS module whose typings call the class `default`: at run time the import is the class.
const ModbusClient = modbusSerial as unknown as new () => Client;

/** What modbus-serial says when the answer did not come in time. */
const isTimeout = (err: unknown): boolean => /timed out/i.test((err as Error)?.message ?? '') || (err as { errno?: string })?.errno === 'ETIMEDOUT';
const isException = (err: unknown): err is { modbusCode: number; message: string } => typeof (err as { modbusCode?: unknown })?.modbusCode === 'number';

export class ModbusDevice extends PortDevice {
  private readonly reads: RegisterRead[];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private misses = 0;

  constructor(profile: DeviceProfile, sinks: DeviceSinks) {
    super(profile, sinks);
    this.reads = planReads(profile.fields);
  }

  protected async connect(path: string): Promise<DeviceConnection> {
    const { serial, poll, options } = this.profile;
    const client: Client = new ModbusClient();
    // modbus-serial hands its options to serialport, binding included (missing from its typings).
    const portOptions = { baudRate: serial.baudRate, dataBits: serial.dataBits, parity: serial.parity, stopBits: serial.stopBits, rtscts: serial.rtscts, binding: hangupSafeBinding };
    await client.connectRTUBuffered(path, portOptions as SerialPortOptions);
    client.setID(options.unitId);
    client.setTimeout(poll!.timeoutMs);
    let gone: (reason: string) => void = () => {};
    const closed = new Promise<string>((resolve) => (gone = resolve));
    client.on('close', () => gone('closed'));
    client.on('error', (err: unknown) => gone((err as Error)?.message ?? 'port error'));
    this.misses = 0;
    const tick = (): void => {
      if (this.busy) return;
      this.busy = true;
      this.readAll(client).catch((err: unknown) => gone((err as Error).message)).finally(() => (this.busy = false));
    };
    this.timer = setInterval(tick, poll!.everyMs);
    tick();
    return {
      closed: closed.finally(() => this.detach()),
      close: () => new Promise<void>((resolve) => {
        this.detach();
        // modbus-serial emits no 'close' for a close it was asked for: the link waits on it.
        const done = (): void => {
          gone('closed');
          resolve();
        };
        if (!client.isOpen) return done();
        client.close(done);
      }),
    };
  }

  protected detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One poll. Throws only when the port itself failed (the link then reopens it). */
  private async readAll(client: Client): Promise<void> {
    for (const read of this.reads) {
      const request = Buffer.from([this.profile.options.unitId, read.table === 'holding' ? 3 : 4, read.address >> 8, read.address & 0xff, read.count >> 8, read.count & 0xff]);
      let words: number[];
      try {
        const answer = read.table === 'holding' ? await client.readHoldingRegisters(read.address, read.count) : await client.readInputRegisters(read.address, read.count);
        words = answer.data;
      } catch (err) {
        if (isTimeout(err)) return this.missed();
        if (isException(err)) {
          return this.events.reject(request, { reason: 'undecodable-frame', detail: `modbus: exception ${err.modbusCode} (${err.message}) reading ${read.table} registers ${read.address}..${read.address + read.count - 1}` });
        }
        if (!client.isOpen) throw err;
        return this.events.reject(request, { reason: 'undecodable-frame', detail: `modbus: ${(err as Error).message}` });
      }
      this.misses = 0;
      this.events.announce('online', null);
      const raw = Buffer.from(words.flatMap((w) => [w >> 8, w & 0xff]));
      try {
        this.events.frame({ readings: readingsOf(read, words) }, raw);
      } catch (err) {
        this.events.reject(raw, { reason: 'undecodable-frame', detail: err instanceof FrameError ? err.message : `internal error: ${(err as Error).message}` });
      }
    }
  }

  private missed(): void {
    this.misses++;
    if (this.misses === SILENT_AFTER) this.events.announce('offline', `no answer to ${this.misses} polls`);
  }

  /** Modbus devices take no free-form commands. */
  write(): boolean {
    return false;
  }
}
