// The serial side of the gateway (SPEC §6), assembled: one adapter per profile in
// `devicesDir`, each fed into the same appender as MQTT ingest, and the Commands for a
// device — published locally on cmd/<device>, or arriving from upstream and delivered
// there — written to its port.
import type { Aedes, AedesPublishPacket } from 'aedes';
import { formatIssue } from '../config/validate.js';
import { encodeCommand } from './command-encoding.js';
import type { DeviceSinks, DeviceStatusInfo } from './device-events.js';
import { loadDevicesDir } from './loader.js';
import type { PortDevice } from './port-device.js';
import type { DeviceProfile } from './types.js';

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

export interface DevicesServiceOptions extends DeviceSinks {
  devicesDir: string;
  aedes: Aedes;
}

export interface DevicesStatus {
  dir: string;
  issues: string[];
  devices: DeviceStatusInfo[];
}

export class DevicesService {
  private readonly devices = new Map<string, PortDevice>();
  private readonly subscriptions: { topic: string; deliver: Deliver }[] = [];
  private issues: string[] = [];
  commandsWritten = 0;
  commandsDropped = 0;

  constructor(private readonly opts: DevicesServiceOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    const { profiles, issues } = loadDevicesDir(opts.devicesDir);
    this.issues = issues.map(formatIssue);
    for (const issue of issues) opts.log.error({ file: issue.file, line: issue.line }, `device not loaded: ${formatIssue(issue)}`);
    for (const profile of profiles) {
      let device: PortDevice;
      try {
        device = await this.adapterFor(profile);
      } catch (err) {
        // The loader checks what the adapters check; a profile it let through must not stop the daemon either.
        this.issues.push(`${profile.file}: ${(err as Error).message}`);
        opts.log.error({ err, device: profile.id }, 'device not started');
        continue;
      }
      this.devices.set(profile.id, device);
      if (profile.commands !== null) await this.subscribe(profile, device);
      device.start();
    }
    if (profiles.length) opts.log.info({ devices: profiles.map((p) => p.id), dir: opts.devicesDir }, `${profiles.length} serial devices configured`);
  }

  /**
   * Settles once every device has tried its port once (open or not), or after `capMs`: a
   * command published before a port is open is not written, so stored commands a crash left
   * unpublished wait for this (daemon.ts).
   */
  async firstOpenAttempts(capMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, capMs)));
    try {
      await Promise.race([Promise.all([...this.devices.values()].map((d) => d.firstAttempt())), cap]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The adapters are imported on first use: serialport and modbus-serial cost ~17 MB of RSS
   * each, which a gateway without device profiles (or without Modbus ones) need not pay.
   */
  private async adapterFor(profile: DeviceProfile): Promise<PortDevice> {
    if (profile.format === 'modbus') {
      const { ModbusDevice } = await import('./modbus-device.js');
      return new ModbusDevice(profile, this.opts);
    }
    const { SerialDevice } = await import('./serial-device.js');
    return new SerialDevice(profile, this.opts);
  }

  private subscribe(profile: DeviceProfile, device: PortDevice): Promise<void> {
    const template = profile.commands!.encode;
    const deliver: Deliver = (packet, done) => {
      done();
      // A retained command is an old one: a device acts on what is sent now.
      if (packet.retain) return;
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const bytes = encodeCommand(template, payload);
      if (device.write(bytes)) {
        this.commandsWritten++;
        this.opts.log.info({ device: profile.id, bytes: bytes.length }, 'command written to the device');
      } else {
        this.commandsDropped++;
        this.opts.log.warn({ device: profile.id }, 'command not written: the device is not open');
      }
    };
    const topic = `cmd/${profile.id}`;
    this.subscriptions.push({ topic, deliver });
    return new Promise((resolve) => this.opts.aedes.subscribe(topic, deliver, resolve));
  }

  status(): DevicesStatus {
    return { dir: this.opts.devicesDir, issues: this.issues, devices: [...this.devices.values()].map((d) => d.status()) };
  }

  async stop(): Promise<void> {
    for (const { topic, deliver } of this.subscriptions) {
      await new Promise<void>((resolve) => this.opts.aedes.unsubscribe(topic, deliver, resolve));
    }
    this.subscriptions.length = 0;
    await Promise.all([...this.devices.values()].map((d) => d.stop()));
  }
}
