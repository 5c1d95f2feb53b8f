// serialport's Linux binding, made safe against a tty that hangs up. After an unplug (a
// USB adapter pulled out, or the far end of a pty pair gone), a read may return 0 bytes —
// end of file — rather than fail, and bindings-cpp 13 then reads again at once, for ever
// (serialport/bindings-cpp#162: 100% CPU, memory until the process dies, and no 'close').
// Here end of file is a disconnect: the port closes with `disconnected: true`.
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

type Binding = typeof SerialPort.binding;
export type OpenOptions = ConstructorParameters<typeof SerialPort>[0];
/** The Linux port binding, as far as the read below needs it. */
interface LinuxPortBinding {
  fd: number | null;
  poller?: { once(event: 'readable', cb: (err: Error | null) => void): void };
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
}

const readAsync = promisify(read);
const RETRY = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);
const detected = SerialPort.binding as unknown as { open(options: unknown): Promise<LinuxPortBinding> };

/**
 * serialport's own binding, with a read that takes end of file (0 bytes: the tty hung up)
 * as a disconnect, so the port closes with `disconnected: true` instead of spinning.
 * Otherwise the read of bindings-cpp 13's unixRead: EAGAIN waits for the fd to be readable.
 * Pass it as `binding` to SerialPortStream (or to modbus-serial's ServerSerial).
 */
export const hangupSafeBinding: Binding = {
  ...SerialPort.binding,
  async open(options: unknown) {
    const port = await detected.open(options);
    const poller = port.poller;
    if (typeof port.fd !== 'number' || !poller) return port; // not the Linux binding: leave it be
    const canceled = (): Error => Object.assign(new Error('Port is not open'), { canceled: true });
    port.read = async (buffer, offset, length) => {
      for (;;) {
        if (port.fd === null) throw canceled();
        try {
          const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
          if (bytesRead === 0) throw Object.assign(new Error('end of file: the tty hung up'), { disconnect: true });
          return { bytesRead, buffer };
        } catch (err) {
          if (!RETRY.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
          if (port.fd === null) throw canceled();
          await new Promise<void>((resolve, reject) => poller.once('readable', (e) => (e ? reject(e) : resolve())));
        }
      }
    };
    return port;
  },
} as unknown as Binding;

/** Opens a port with `hangupSafeBinding`: how the gateway, the simulator and the tests open ports. */
export function openPort(options: OpenOptions): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    // SerialPort's typings leave `binding` out, but its constructor takes one over the detected.
    const withBinding = { ...options, binding: hangupSafeBinding } as unknown as OpenOptions;
    const port: SerialPort = new SerialPort(withBinding, (err) => (err ? reject(err) : resolve(port)));
  });
}
