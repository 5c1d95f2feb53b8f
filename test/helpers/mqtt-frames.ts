// MQTT packet boundaries in a byte stream, from the fixed header alone (type and flags in
// the first byte, then the remaining length as a variable byte integer), so a proxy can
// pass, observe or drop whole packets. Enough of the variable header is read to give the
// packet id, for PUBLISH (after the topic, when QoS > 0) and the acknowledgements.

export const PacketType = {
  CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7,
  SUBSCRIBE: 8, SUBACK: 9, UNSUBSCRIBE: 10, UNSUBACK: 11, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14,
} as const;

export interface PacketInfo {
  type: number;
  /** The low nibble of the first byte: for PUBLISH, DUP (8), QoS (6) and RETAIN (1). */
  flags: number;
  dup: boolean;
  qos: number;
  packetId: number | null;
  /** PUBLISH only */
  topic: string | null;
  /** The whole packet, fixed header included. */
  bytes: Buffer;
}

const WITH_ID_FIRST = new Set<number>([
  PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP,
  PacketType.SUBSCRIBE, PacketType.SUBACK, PacketType.UNSUBSCRIBE, PacketType.UNSUBACK,
]);

/** Splits one direction of a connection into whole packets, whatever the TCP chunking. */
export class MqttFramer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const size = packetSize(this.pending);
      if (size === null || this.pending.length < size) break;
      out.push(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
    }
    return out;
  }
}

/** The length of the packet at the start of `buf`, or null while its header is incomplete. */
function packetSize(buf: Buffer): number | null {
  let remaining = 0;
  for (let i = 1; i <= 4; i++) {
    if (buf.length <= i) return null;
    const b = buf[i];
    remaining += (b & 0x7f) * 128 ** (i - 1);
    if ((b & 0x80) === 0) return 1 + i + remaining;
  }
  throw new Error('malformed MQTT remaining length');
}

export function describePacket(bytes: Buffer): PacketInfo {
  const type = bytes[0] >> 4;
  const flags = bytes[0] & 0x0f;
  let offset = 1;
  while (bytes[offset] & 0x80) offset++;
  offset++;
  const info: PacketInfo = { type, flags, dup: false, qos: 0, packetId: null, topic: null, bytes };
  if (type === PacketType.PUBLISH) {
    info.dup = (flags & 0x08) !== 0;
    info.qos = (flags >> 1) & 0x03;
    const topicLength = bytes.readUInt16BE(offset);
    info.topic = bytes.toString('utf8', offset + 2, offset + 2 + topicLength);
    if (info.qos > 0) info.packetId = bytes.readUInt16BE(offset + 2 + topicLength);
  } else if (WITH_ID_FIRST.has(type)) {
    info.packetId = bytes.readUInt16BE(offset);
  }
  return info;
}
