// A Modbus RTU slave for a `format: modbus` profile, on a serial port (a pty end works):
// modbus-serial's ServerSerial answers function codes 3 (holding) and 4 (input) from the
// profile's register map, with exception 2 (illegal data address) outside it.
//
// Each field holds its raw value (before scale) in one register, two for 32-bit types
// (f32/u32/i32, in `wordOrder`), four for f64. Within a table, the addresses from the lowest
// to the highest mapped register answer (unmapped ones in between read 0), as devices with
// a contiguous register block do; anything outside that block is an illegal address.
//
// Known quirk of ServerSerial (modbus-serial 8.0.25): it cuts requests by a 30 ms silence and
// rewrites the request's CRC before checking it, so it also answers corrupted requests.
import { ServerSerial, type IServiceVector } from 'modbus-serial';
import type { SerialPort } from 'serialport';
import type { DeviceProfile } from '../../src/devices/types.js';
import { hangupSafeBinding } from '../../src/devices/serial-binding.js';
import { registerWords, sampleFrame } from './values.js';

export type Table = 'input' | 'holding';

/** The register values at one moment: address → 16-bit value, per table. */
export type RegisterMap = Record<Table, Map<number, number>>;

/** Every field's registers at `tick`. */
export function registerMap(profile: DeviceProfile, tick: number): RegisterMap {
  const map: RegisterMap = { input: new Map(), holding: new Map() };
  for (const s of sampleFrame(profile, tick)) {
    if (s.field.register === null) continue;
    registerWords(s.field.type ?? 'u16', s.field.wordOrder, s.raw).forEach((w, i) => map[s.field.table].set(s.field.register! + i, w));
  }
  return map;
}

/** Why the profile cannot be served, or null. */
export function cannotServe(profile: DeviceProfile): string | null {
  const missing = profile.fields.filter((f) => f.register === null).map((f) => f.name);
  if (missing.length > 0) return `fields without a register: ${missing.join(', ')}`;
  if (profile.fields.length === 0) return 'the profile has no fields';
  return null;
}

/** "input 0-3, holding 10-11" */
export function describeRegisters(map: RegisterMap): string {
  return (['input', 'holding'] as const)
    .filter((t) => map[t].size > 0)
    .map((t) => `${t} ${Math.min(...map[t].keys())}-${Math.max(...map[t].keys())}`)
    .join(', ');
}

export interface ModbusSlaveOptions {
  path: string;
  profile: DeviceProfile;
  /** The registers now (asked once per request, so a 32-bit value is never torn). */
  registers: () => RegisterMap;
  /** After each read request is answered or refused. */
  onRequest?: () => void;
  /** A master wrote a holding register (function code 6): it is acknowledged, not kept. */
  onWrite?: (address: number, value: number) => void;
}

export interface ModbusSlave {
  /** Resolves when the port closes: null after close(), the error when it went away (unplugged). */
  closed: Promise<Error | null>;
  close(): Promise<void>;
}

const illegalAddress = (): never => {
  throw Object.assign(new Error('illegal data address'), { modbusErrorCode: 0x02 });
};

/** Opens the port and answers until close() or the port goes away. */
export function startModbusSlave(opts: ModbusSlaveOptions): Promise<ModbusSlave> {
  // The block of addresses each table answers: fixed by the profile.
  const initial = opts.registers();
  const spans = {
    input: initial.input.size ? [Math.min(...initial.input.keys()), Math.max(...initial.input.keys())] : null,
    holding: initial.holding.size ? [Math.min(...initial.holding.keys()), Math.max(...initial.holding.keys())] : null,
  } satisfies Record<Table, number[] | null>;

  const read = (table: Table, address: number, length: number): number[] => {
    opts.onRequest?.();
    const span = spans[table];
    if (!span || address < span[0] || address + length - 1 > span[1]) illegalAddress();
    const map = opts.registers()[table];
    return Array.from({ length }, (_, i) => map.get(address + i) ?? 0);
  };
  const vector: IServiceVector = {
    getInputRegister: (address: number) => read('input', address, 1)[0],
    getHoldingRegister: (address: number) => read('holding', address, 1)[0],
    getMultipleInputRegisters: (address: number, length: number) => read('input', address, length),
    getMultipleHoldingRegisters: (address: number, length: number) => read('holding', address, length),
    setRegister: (address: number, value: number) => {
      opts.onWrite?.(address, value);
    },
  };

  const s = opts.profile.serial;
  return new Promise((resolve, reject) => {
    const server: ServerSerial = new ServerSerial(vector, {
      path: opts.path,
      baudRate: s.baudRate,
      parity: s.parity,
      unitID: opts.profile.options.unitId,
      // Passed on to its SerialPort (the typings leave it out): see hangupSafeBinding.
      ...{ binding: hangupSafeBinding },
      openCallback: (err) => {
        if (err) {
          reject(err);
          return;
        }
        const port = (server as unknown as { getPort(): SerialPort }).getPort();
        let closing = false;
        const closed = new Promise<Error | null>((res) => port.once('close', (e: Error | null) => res(closing ? null : e ?? new Error('port closed'))));
        resolve({
          closed,
          close: async () => {
            if (!port.isOpen) return;
            closing = true;
            await new Promise<void>((res) => server.close(() => res()));
          },
        });
      },
    });
    // Errors of a going port come with its 'close'; these would otherwise be unhandled.
    server.on('error', () => {});
    server.on('socketError', () => {});
  });
}
