// Which device node a profile's port is right now. USB serial adapters are numbered in
// the order the kernel finds them (ttyUSB0 today, ttyUSB1 after a reboot), so a profile
// names a stable /dev/serial/by-id/… link or matches the adapter's USB identity.
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { SerialSpec } from './types.js';

export type PortInfo = Awaited<ReturnType<typeof SerialPort.list>>[number];
export type PortLister = () => Promise<PortInfo[]>;

/** USB ids are hex; lsusb and udev print them in either case. */
const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The ports a match selects, by path: the first is the one opened. */
export function matchPorts(ports: readonly PortInfo[], match: NonNullable<SerialSpec['match']>): PortInfo[] {
  return ports
    .filter((p) => (match.vendorId === undefined || same(p.vendorId, match.vendorId))
      && (match.productId === undefined || same(p.productId, match.productId))
      && (match.serialNumber === undefined || p.serialNumber === match.serialNumber)
      && (match.manufacturer === undefined || p.manufacturer === match.manufacturer))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The path to open, or why there is none yet (unplugged, not enumerated): the caller
 * waits and asks again.
 */
export async function findPort(serial: SerialSpec, list: PortLister = () => SerialPort.list()): Promise<{ path: string } | { missing: string }> {
  if (serial.path !== null) return existsSync(serial.path) ? { path: serial.path } : { missing: `${serial.path} does not exist` };
  const match = serial.match!;
  let ports: PortInfo[];
  try {
    ports = await list();
  } catch (err) {
    // serialport lists USB ports through udevadm: a system without it cannot match.
    return { missing: `cannot list serial ports to match ${JSON.stringify(match)}: ${(err as Error).message}` };
  }
  const found = matchPorts(ports, match);
  if (found.length === 0) return { missing: `no port matches ${JSON.stringify(match)}` };
  return { path: found[0].path };
}
