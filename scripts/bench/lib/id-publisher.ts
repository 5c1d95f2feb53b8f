// Publishes readings that each carry their own publisher `id` (SPEC: the dedup key), over
// raw sockets with pre-encoded frames patched per message, closed loop: the memory bench
// fills the dedup window with a million distinct ids in seconds, not minutes. Also the
// start-up bench's probe: one QoS 1 publish, timed to its PUBACK.
import { connect, type Socket } from 'node:net';
import { generate } from 'mqtt-packet';

const CONNACK = 0x20;
const PUBACK = 0x40;
const ID_WIDTH = 10;

/** A PUBLISH whose packet id and `id` digits are patched in place. */
class IdTemplate {
  readonly frame: Buffer;
  private readonly packetIdAt: number;
  private readonly idAt: number;

  constructor(topic: string, prefix: string, withId = true) {
    // Without an id the digits still change (in `n`), so every reading differs.
    const payload = Buffer.from(withId
      ? `{"id":"${prefix}-${'0'.repeat(ID_WIDTH)}","value":21.53,"unit":"C"}`
      : `{"n":"${prefix}-${'0'.repeat(ID_WIDTH)}","value":21.53,"unit":"C"}`);
    this.frame = generate({ cmd: 'publish', topic, payload, qos: 1, dup: false, retain: false, messageId: 1 });
    const payloadAt = this.frame.length - payload.length;
    this.packetIdAt = payloadAt - 2;
    this.idAt = payloadAt + payload.indexOf(`${prefix}-`) + prefix.length + 1;
  }

  write(out: Buffer, at: number, packetId: number, n: number): void {
    this.frame.copy(out, at);
    out.writeUInt16BE(packetId, at + this.packetIdAt);
    let v = n;
    for (let i = at + this.idAt + ID_WIDTH - 1; i >= at + this.idAt; i--) {
      out[i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
  }
}

/** Reads MQTT fixed headers off a byte stream; calls back per packet type. */
function onPackets(socket: Socket, each: (type: number) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      let len = 0;
      let mul = 1;
      let i = at + 1;
      for (; i < buf.length; i++) {
        len += (buf[i] & 0x7f) * mul;
        mul *= 128;
        if ((buf[i] & 0x80) === 0) break;
      }
      if (i >= buf.length || i + 1 + len > buf.length) break;
      each(buf[at] & 0xf0);
      at = i + 1 + len;
    }
    buf = buf.subarray(at);
  });
}

function openClient(port: number, clientId: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    socket.once('error', reject);
    const first = (chunk: Buffer) => {
      socket.off('error', reject);
      if ((chunk[0] & 0xf0) !== CONNACK || chunk[3] !== 0) reject(new Error(`${clientId}: CONNACK refused (${chunk.toString('hex')})`));
      else resolve(socket);
    };
    socket.once('data', first);
    socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 60 }));
  });
}

/**
 * Publishes `total` readings (with `withIds`, the default: ids `<prefix>-0000000000`…) spread over `connections`
 * devices, `window` unacknowledged per connection; resolves once every one is acknowledged.
 */
export async function publishWithIds(port: number, opts: { total: number; connections: number; window: number; prefix: string; withIds?: boolean; onProgress?: (acked: number) => void }): Promise<{ seconds: number }> {
  const started = Date.now();
  let next = 0;
  let acked = 0;
  const sockets = await Promise.all(Array.from({ length: opts.connections }, (_, i) => openClient(port, `${opts.prefix}-c${i}`)));
  await new Promise<void>((resolve, reject) => {
    sockets.forEach((socket, i) => {
      const template = new IdTemplate(`sensors/${opts.prefix}-dev${i}/temperature`, opts.prefix, opts.withIds ?? true);
      let packetId = 0;
      let inFlight = 0;
      const send = () => {
        const n = Math.min(opts.window - inFlight, opts.total - next);
        if (n <= 0) return;
        const out = Buffer.allocUnsafe(template.frame.length * n);
        for (let k = 0; k < n; k++) {
          packetId = packetId === 0xffff ? 1 : packetId + 1;
          template.write(out, k * template.frame.length, packetId, next++);
        }
        inFlight += n;
        socket.write(out);
      };
      socket.on('error', reject);
      socket.on('close', () => acked < opts.total && reject(new Error(`${opts.prefix}-c${i}: closed by the broker`)));
      onPackets(socket, (type) => {
        if (type !== PUBACK) return;
        inFlight--;
        acked++;
        if (acked % 100_000 === 0) opts.onProgress?.(acked);
        if (acked === opts.total) resolve();
        else if (inFlight <= opts.window / 2) send();
      });
      send();
    });
  });
  for (const s of sockets) s.end(generate({ cmd: 'disconnect' }));
  return { seconds: (Date.now() - started) / 1000 };
}

/**
 * Connects as soon as the port accepts (retrying every `retryMs`) and sends one QoS 1
 * publish; resolves when its PUBACK arrives. The start-up bench's "ready": acknowledged
 * publishes flowing, not a log line.
 */
export async function firstPuback(port: number, deadlineMs: number, retryMs = 5): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    let socket: Socket;
    try {
      socket = await openClient(port, `startup-probe-${process.pid}`);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no CONNACK on port ${port} within ${deadlineMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, retryMs));
      continue;
    }
    const template = new IdTemplate('sensors/startup-probe/temperature', 'probe');
    const frame = Buffer.allocUnsafe(template.frame.length);
    template.write(frame, 0, 1, Date.now() % 1e10);
    await new Promise<void>((resolve, reject) => {
      socket.once('close', () => reject(new Error('probe connection closed before its PUBACK')));
      onPackets(socket, (type) => type === PUBACK && resolve());
      socket.write(frame);
    });
    socket.removeAllListeners('close');
    socket.destroy();
    return;
  }
}
