// MQTT 3.1.1 frames for the load generator, encoded once by mqtt-packet and then copied
// and patched per message: encoding a PUBLISH per message would make the load generator,
// not the broker, the bottleneck (PERF-NOTES: mqtt.js tops out at ~31–47k msgs/s).
import { generate } from 'mqtt-packet';

/** Width of the right-aligned seq field: JSON allows the leading spaces, so it patches in place. */
const SEQ_WIDTH = 10;
/** Epoch milliseconds have 13 digits until the year 2286. */
const TS_WIDTH = 13;
const PAYLOAD_BYTES = 120;
const SPACE = 0x20;
const ZERO = 0x30;

export function connectFrame(clientId: string): Buffer {
  return generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 60 });
}

export const DISCONNECT_FRAME: Buffer = generate({ cmd: 'disconnect' });

/** A QoS 1 PUBLISH of one reading, with the offsets of the fields that change per message. */
export class PublishTemplate {
  readonly frame: Buffer;
  readonly length: number;
  private readonly idOffset: number;
  private readonly seqOffset: number;
  private readonly tsOffset: number;

  constructor(topic: string) {
    const head = `{"value":21.53,"unit":"C","seq":${' '.repeat(SEQ_WIDTH)},"ts":${'0'.repeat(TS_WIDTH)},"pad":"`;
    const tail = '"}';
    const pad = 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length - tail.length));
    const payload = Buffer.from(head + pad + tail);
    this.frame = generate({ cmd: 'publish', topic, payload, qos: 1, dup: false, retain: false, messageId: 1 });
    this.length = this.frame.length;
    // Fixed header (1 byte + 1–2 length bytes), then topic length (2) and topic, then the id.
    const payloadStart = this.length - payload.length;
    this.idOffset = payloadStart - 2;
    this.seqOffset = payloadStart + head.indexOf('"seq":') + 6;
    this.tsOffset = payloadStart + head.indexOf('"ts":') + 5;
    if (this.frame.readUInt16BE(this.idOffset) !== 1) throw new Error('unexpected PUBLISH layout from mqtt-packet');
  }

  get payloadBytes(): number {
    return PAYLOAD_BYTES;
  }

  /** Copies the template to `out` at `at` and writes this message's id, seq and timestamp. */
  writeTo(out: Buffer, at: number, packetId: number, seq: number, ts: number): void {
    this.frame.copy(out, at);
    out.writeUInt16BE(packetId, at + this.idOffset);
    writeDigits(out, at + this.seqOffset, SEQ_WIDTH, seq, SPACE);
    writeDigits(out, at + this.tsOffset, TS_WIDTH, ts, ZERO);
  }
}

/** Right-aligns `value` in `width` ASCII digits, filling the left with `fill`. */
function writeDigits(out: Buffer, at: number, width: number, value: number, fill: number): void {
  let v = value;
  let i = at + width - 1;
  do {
    out[i--] = ZERO + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0 && i >= at);
  while (i >= at) out[i--] = fill;
}
