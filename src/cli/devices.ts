// `edgebus devices [ID] [--json]`: the current state of each device (the device-state
// projection with its profile), from the daemon's API while it runs, from the store when not.
import type { Config } from '../config/types.js';
import { deviceView, listDeviceViews, type DeviceView } from '../usecases/device-views.js';
import { UsageError, type Io } from './args.js';
import { getText, withStore } from './store-access.js';

export async function runDevices(config: Config, args: string[], opts: { json?: boolean }, io: Io): Promise<void> {
  if (args.length > 1) throw new UsageError('devices takes at most one device id');
  const id = args[0];
  if (id !== undefined) {
    const device = await withStore(config, (store) => deviceView(store, config.devicesDir, id), () => remoteDevice(config, id));
    if (device === null) throw new UsageError(`no device ${JSON.stringify(id)} in the device state`);
    io.out(opts.json ? JSON.stringify(device) + '\n' : formatDevices([device]));
    return;
  }
  const devices = await withStore(config, (store) => listDeviceViews(store, config.devicesDir),
    async () => (JSON.parse(await getText(config, '/api/devices')) as { devices: DeviceView[] }).devices);
  // One device per line, as `events --json` prints events.
  io.out(opts.json ? devices.map((d) => JSON.stringify(d) + '\n').join('') : formatDevices(devices));
}

async function remoteDevice(config: Config, id: string): Promise<DeviceView | null> {
  try {
    return JSON.parse(await getText(config, `/api/devices/${encodeURIComponent(id)}`)) as DeviceView;
  } catch (err) {
    if (/HTTP 404/.test((err as Error).message)) return null;
    throw err;
  }
}

const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** A table: one row per device, its sensors' last values in the last column. */
export function formatDevices(devices: readonly DeviceView[]): string {
  if (devices.length === 0) return 'no devices in the device state\n';
  const rows = devices.map((d) => [
    d.id,
    d.status?.state ?? '-',
    d.lastSeen,
    [d.metadata.model ?? d.metadata.type, d.metadata.firmware].filter((v) => v !== undefined).map(shown).join(' ') || '-',
    Object.entries(d.sensors).map(([name, s]) => `${name}=${shown(s.value)}${s.unit ? ' ' + s.unit : ''}`).join(', ') || '-',
  ]);
  const head = ['DEVICE', 'STATUS', 'LAST SEEN', 'MODEL/FIRMWARE', 'SENSORS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n';
  return line(head) + rows.map(line).join('');
}
