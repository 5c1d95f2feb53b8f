// One raw MQTT connection of the load generator: writes pre-encoded PUBLISH frames, keeps
// at most `window` unacknowledged, and reads PUBACKs straight off the byte stream.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connectFrame, DISCONNECT_FRAME, PublishTemplate } from './frames.js';

const CONNACK = 0x20;
const PUBACK = 0x40;
const MAX_PACKET_ID = 0xffff;

export interface ConnectionHooks {
  /** Called once per PUBACK with the time its publish was written. */
  onAck: (sentAt: number, now: number) => void;
  /** Called when a PUBACK frees a window slot: the closed-loop driver refills it. */
  onWindowFree: (conn: Connection) => void;
  /** The broker dropped the connection after it was up: the run's figures are void. */
  onLost: (err: Error) => void;
}

export class Connection {
  private socket: Socket | null = null;
  private readonly template: PublishTemplate;
  /** Send time per packet id: the window is far smaller than the id space, so ids never clash. */
  private readonly sentAt = new Float64Array(MAX_PACKET_ID + 1);
  private nextId = 1;
  private seq = 0;
  private pending: Buffer | null = null;
  private connected: ((err: Error | null) => void) | null = null;
  inFlight = 0;

  constructor(
    private readonly port: number,
    private readonly clientId: string,
    device: string,
    private readonly window: number,
    private readonly hooks: ConnectionHooks,
  ) {
    this.template = new PublishTemplate(`sensors/${device}/temperature`);
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: this.port, host: '127.0.0.1', noDelay: true });
      this.socket = socket;
      this.connected = (err) => (err ? reject(err) : resolve());
      let failure: Error | null = null;
      socket.on('error', (err) => (failure = err));
      socket.on('data', (chunk: Buffer) => this.read(chunk));
      socket.once('close', () => {
        const err = failure ?? new Error(`${this.clientId}: connection closed by the broker`);
        if (this.connected !== null) this.settleConnect(err);
        else if (this.socket !== null) this.hooks.onLost(err);
      });
      socket.write(connectFrame(this.clientId));
    });
  }

  get free(): number {
    return this.window - this.inFlight;
  }

  /** Sends up to `n` publishes (fewer if the window is full) in one write; returns how many. */
  send(n: number): number {
    const count = Math.min(n, this.free);
    if (count <= 0 || this.socket === null) return 0;
    const len = this.template.length;
    const out = Buffer.allocUnsafe(len * count);
    const now = performance.now();
    const ts = Date.now();
    for (let i = 0; i < count; i++) {
      const id = this.nextId;
      this.nextId = id === MAX_PACKET_ID ? 1 : id + 1;
      this.sentAt[id] = now;
      this.template.writeTo(out, i * len, id, ++this.seq, ts);
    }
    this.inFlight += count;
    this.socket.write(out);
    return count;
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket === null || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.end(DISCONNECT_FRAME);
      // A broker that never closes its side must not hold the run open.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  private settleConnect(err: Error | null): void {
    const settle = this.connected;
    this.connected = null;
    settle?.(err);
  }

  /** Splits the stream into MQTT packets; a packet may straddle chunks. */
  private read(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const now = performance.now();
    let off = 0;
    let freed = false;
    while (off + 2 <= buf.length) {
      const type = buf[off] & 0xf0;
      // PUBACKs are 4 bytes with a 1-byte length: the common case, read without the varint loop.
      if (type === PUBACK && buf[off + 1] === 2) {
        if (off + 4 > buf.length) break;
        this.hooks.onAck(this.sentAt[buf.readUInt16BE(off + 2)], now);
        this.inFlight--;
        freed = true;
        off += 4;
        continue;
      }
      const header = remainingLength(buf, off + 1);
      if (header === null || off + 1 + header.bytes + header.length > buf.length) break;
      const body = off + 1 + header.bytes;
      if (type === CONNACK) {
        const code = buf[body + 1];
        this.settleConnect(code === 0 ? null : new Error(`${this.clientId}: CONNACK return code ${code}`));
      }
      off = body + header.length;
    }
    if (off < buf.length) this.pending = buf.subarray(off);
    if (freed) this.hooks.onWindowFree(this);
  }
}

/** Decodes the MQTT variable-length "remaining length"; null if it is not all here yet. */
function remainingLength(buf: Buffer, at: number): { length: number; bytes: number } | null {
  let length = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    if (at + i >= buf.length) return null;
    const b = buf[at + i];
    length += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return { length, bytes: i + 1 };
    mult *= 128;
  }
  throw new Error('malformed remaining length');
}
