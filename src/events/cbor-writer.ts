// A CBOR (RFC 8949) writer for JSON-shaped values, made for the append hot path: events
// are written one after another into one reused buffer per commit group, so encoding
// allocates nothing per event. It writes plain maps, arrays, text, integers and floats —
// standard CBOR that cbor-x (and any decoder) reads back. cbor-x's own encoder cost
// ~2 µs per event here, a third of the gateway's budget per message.
import type { ClockQuality, EdgeEvent, JsonValue } from './types.js';

const F32 = new Float32Array(1);

export class CborWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private head(major: number, n: number): void {
    this.ensure(9);
    const b = this.buf;
    const m = major << 5;
    if (n < 24) b[this.pos++] = m | n;
    else if (n < 0x100) {
      b[this.pos++] = m | 24;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = m | 25;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else if (n < 0x100000000) {
      b[this.pos++] = m | 26;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = m | 27;
      b.writeUInt32BE(Math.floor(n / 0x100000000), this.pos);
      b.writeUInt32BE(n >>> 0, this.pos + 4);
      this.pos += 8;
    }
  }

  text(s: string): void {
    const len = s.length;
    if (len > 255) return this.utf8(s);
    // Short ASCII (keys, ids, units, timestamps) is copied byte by byte: cheaper than a
    // call into Buffer.write for strings this short.
    this.ensure(2 + len);
    const b = this.buf;
    // A local cursor, stored back once: not a field store per character.
    let pos = this.pos;
    if (len < 24) b[pos++] = 0x60 | len;
    else {
      b[pos++] = 0x78;
      b[pos++] = len;
    }
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return this.utf8(s);
      b[pos++] = c;
    }
    this.pos = pos;
  }

  private utf8(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.head(3, n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  number(v: number): void {
    if (Number.isSafeInteger(v)) {
      if (v >= 0) this.head(0, v);
      else this.head(1, -1 - v);
      return;
    }
    this.ensure(9);
    F32[0] = v;
    if (F32[0] === v) {
      // Exact in single precision: 5 bytes instead of 9, and decoded back unchanged.
      this.buf[this.pos++] = 0xfa;
      this.buf.writeFloatBE(v, this.pos);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = 0xfb;
      this.buf.writeDoubleBE(v, this.pos);
      this.pos += 8;
    }
  }

  value(v: JsonValue | undefined): void {
    switch (typeof v) {
      case 'string': return this.text(v);
      case 'number': return this.number(v);
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = v ? 0xf5 : 0xf4;
        return;
      case 'object':
        if (v === null) break;
        if (Array.isArray(v)) {
          this.head(4, v.length);
          for (const item of v) this.value(item);
          return;
        }
        return this.map(v);
    }
    this.ensure(1);
    this.buf[this.pos++] = 0xf6; // null (and undefined inside arrays)
  }

  /** A map of the object's defined entries. */
  map(obj: { readonly [key: string]: JsonValue | undefined }): void {
    let n = 0;
    for (const k in obj) if (obj[k] !== undefined) n++;
    this.head(5, n);
    for (const k in obj) {
      const v = obj[k];
      if (v === undefined) continue;
      this.text(k);
      this.value(v);
    }
  }

  /** A map of `n` pairs follows. */
  mapHead(n: number): void {
    this.head(5, n);
  }

  /** An array of `n` items follows. */
  arrayHead(n: number): void {
    this.head(4, n);
  }

  /** Bytes prepared once (keys, constant blocks), copied in. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const b = this.buf;
    let pos = this.pos;
    // Keys are a few bytes, the metadata block ~80: a loop beats TypedArray.set's call.
    if (n <= 128) for (let i = 0; i < n; i++) b[pos++] = bytes[i];
    else {
      b.set(bytes, pos);
      pos += n;
    }
    this.pos = pos;
  }

  /**
   * An event as SPEC §3 lays it out, field by field: only the contract's fields are
   * written, whatever else the object carries. Keys are copied from bytes prepared once;
   * the sensor's timestamp, usually the event's own, is copied from where it was written.
   */
  event(e: EdgeEvent): void {
    let n = e.version !== undefined ? 8 : 7;
    if (e.sensor !== undefined) n++;
    if (e.device !== undefined) n++;
    if (e.location !== undefined) n++;
    if (e.network !== undefined) n++;
    this.head(5, n);
    this.raw(K.id); this.text(e.id);
    this.raw(K.type); this.text(e.type);
    this.raw(K.source); this.text(e.source);
    this.raw(K.timestamp);
    const tsStart = this.pos;
    this.text(e.timestamp);
    const tsEnd = this.pos;
    this.raw(K.seq); this.number(e.seq);
    if (e.version !== undefined) { this.raw(K.version); this.number(e.version); }
    this.raw(K.payload); this.map(e.payload);
    if (e.sensor !== undefined) {
      const s = e.sensor;
      this.raw(K.sensorType); this.text(s.type);
      this.raw(K.value); this.value(s.value);
      this.raw(K.unit); this.value(s.unit);
      this.raw(K.accuracy); this.value(s.accuracy);
      this.raw(K.timestamp);
      if (s.timestamp === e.timestamp) {
        this.ensure(tsEnd - tsStart);
        this.buf.copyWithin(this.pos, tsStart, tsEnd);
        this.pos += tsEnd - tsStart;
      } else this.text(s.timestamp);
    }
    if (e.device !== undefined) { this.raw(K.device); this.map(e.device); }
    if (e.location !== undefined) { this.raw(K.location); this.map(e.location as unknown as { [key: string]: JsonValue }); }
    if (e.network !== undefined) { this.raw(K.network); this.map(e.network); }
    const m = e.metadata;
    if (m.correlationId === null && m.causationId === null && m.version === '1' && m.ttl === null && m.receivedAt === undefined
      && (m.priority === 'normal' || m.priority === 'high')) {
      this.raw(metadataBlock(m.priority, m.clock));
      return;
    }
    this.raw(K.metadata);
    this.head(5, 5 + (m.clock !== undefined ? 1 : 0) + (m.receivedAt !== undefined ? 1 : 0));
    this.raw(K.correlationId); this.value(m.correlationId);
    this.raw(K.causationId); this.value(m.causationId);
    this.raw(K.version); this.text(m.version);
    this.raw(K.priority); this.text(m.priority);
    this.raw(K.ttl); this.value(m.ttl);
    if (m.clock !== undefined) { this.raw(K.clock); this.text(m.clock); }
    if (m.receivedAt !== undefined) { this.raw(K.receivedAt); this.text(m.receivedAt); }
  }

  /** The bytes written since `start`; valid until the next reset(). */
  since(start: number): Uint8Array {
    // A plain view: cheaper to make than a Buffer slice, and all LevelDB needs.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, this.pos - start);
  }
}

/** Writes with a scratch writer, once, at load: the byte runs `event` copies in. */
function bytesOf(write: (w: CborWriter) => void): Uint8Array {
  const w = new CborWriter(256);
  write(w);
  return Uint8Array.from(w.since(0));
}
/** A text string as the writer writes it (shortest head): what readers of stored bytes look for. */
export const cborText = (text: string): Uint8Array => bytesOf((w) => w.text(text));
const key = cborText;

/** The metadata most events carry (no ids, no ttl, normal or high), written once per clock quality. */
function blocksFor(priority: string): Record<ClockQuality | 'none', Uint8Array> {
  const block = (clock: ClockQuality | undefined) => bytesOf((w) => {
    w.text('metadata');
    w.map({ correlationId: null, causationId: null, version: '1', priority, ttl: null, clock });
  });
  return { none: block(undefined), synced: block('synced'), unsynced: block('unsynced'), stepped: block('stepped') };
}
const METADATA_BLOCKS = { normal: blocksFor('normal'), high: blocksFor('high') };
/**
 * Every such block: an event the writer wrote ends with one of them exactly when its
 * metadata is one of them (no ttl, no receivedAt), which lets a reader skip the rest.
 */
export const COMMON_METADATA_BLOCKS: readonly Uint8Array[] = [...Object.values(METADATA_BLOCKS.normal), ...Object.values(METADATA_BLOCKS.high)];
const metadataBlock = (priority: 'normal' | 'high', clock: ClockQuality | undefined): Uint8Array => METADATA_BLOCKS[priority][clock ?? 'none'];

const K = {
  id: key('id'), type: key('type'), source: key('source'), timestamp: key('timestamp'), seq: key('seq'),
  payload: key('payload'), value: key('value'), unit: key('unit'), accuracy: key('accuracy'),
  /** "sensor": a map of 5, then its "type" key. */
  sensorType: bytesOf((w) => { w.text('sensor'); w.raw(Uint8Array.of(0xa5)); w.text('type'); }),
  device: key('device'), location: key('location'), network: key('network'),
  /** "metadata"; its map head follows. */
  metadata: key('metadata'),
  correlationId: key('correlationId'), causationId: key('causationId'), version: key('version'), priority: key('priority'), ttl: key('ttl'),
  clock: key('clock'), receivedAt: key('receivedAt'),
};
