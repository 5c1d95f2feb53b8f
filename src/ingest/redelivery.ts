// Which recent QoS 1/2 publishes of each client were taken as new events, by packet id, so
// that a DUP redelivery of one (its PUBACK was lost, the client reconnected and resent it)
// is recognised. Only readings that carry neither `id` nor `seq` need this: those get a
// gateway-made ULID, so nothing downstream can tell the second copy from a new reading.
//
// Memory, not the store: a redelivery comes within a reconnect or two of the original. A
// redelivery across a restart of the gateway is stored a second time, as it was before.

/** One publish taken as a new event: what `remember` returns, for `forget`. */
export interface Remembered {
  readonly clientId: string;
  readonly packetId: number;
  readonly source: string;
}

export interface RedeliveryOptions {
  /** The gateway clock (monotonic ms). */
  now: () => number;
  /** How long a publish is remembered, ms. */
  windowMs?: number;
  /** Entries kept across every client. */
  maxEntries?: number;
  /** Entries kept per client: only its latest publishes can still be awaiting a PUBACK. */
  maxPerClient?: number;
}

/**
 * A client whose link died silently notices only through its keepalive, then reconnects
 * with backoff: esp-mqtt's default keepalive is 120 s, so a redelivery can come minutes
 * after the original. Ten minutes also covers a short Wi-Fi outage.
 */
export const DEFAULT_WINDOW_MS = 10 * 60_000;
/** ~180 bytes an entry (measured on x64, Node 20): ~3 MB at most. */
export const DEFAULT_MAX_ENTRIES = 16_384;
/**
 * More than any client keeps in flight (libmosquitto and mosquitto bridges default to 20),
 * while one chatty client cannot push every other client's entries out.
 */
export const DEFAULT_MAX_PER_CLIENT = 1_024;

interface ClientPackets {
  readonly clientId: string;
  readonly byPacket: Map<number, Entry>;
  /** This client's entries, oldest first (a renewed entry moves to the end). */
  oldest: Entry | null;
  newest: Entry | null;
}

/**
 * Each entry is on two lists, both oldest first: all entries (expiry and the total cap take
 * from its front) and its client's (the per-client cap). Linked through the entries: a
 * Map's iterator would have to step over every key deleted from its front since its last
 * rehash, which made dropping the oldest cost ~0.7 µs a publish. As it is, `remember` costs
 * ~0.4 µs for an 82-byte payload (FNV ~2 ns a byte), next to ~3.5 µs for normalize.
 */
class Entry implements Remembered {
  prev: Entry | null = null;
  next: Entry | null = null;
  prevOfClient: Entry | null = null;
  nextOfClient: Entry | null = null;

  constructor(
    readonly owner: ClientPackets,
    readonly packetId: number,
    readonly topic: string,
    readonly length: number,
    readonly hash: number,
    readonly source: string,
    /** Gateway clock, ms: when it arrived, or when a redelivery of it last did. */
    public at: number,
  ) {}

  get clientId(): string {
    return this.owner.clientId;
  }
}

export class RedeliveryMemory {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly maxPerClient: number;
  private readonly clients = new Map<string, ClientPackets>();
  private oldest: Entry | null = null;
  private newest: Entry | null = null;
  private count = 0;

  constructor(opts: RedeliveryOptions) {
    this.now = opts.now;
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.maxPerClient = Math.max(1, opts.maxPerClient ?? DEFAULT_MAX_PER_CLIENT);
  }

  /** Entries held now (expired ones go at the next `remember`). */
  get size(): number {
    return this.count;
  }

  /**
   * Records a publish submitted as a new event. A packet id used again replaces what it
   * stood for: after its PUBACK the client may give it to any new message.
   */
  remember(clientId: string, packetId: number, topic: string, payload: Uint8Array, source: string): Remembered {
    const now = this.now();
    // The front of the list is the oldest: expiry stops at the first entry still young.
    const horizon = now - this.windowMs;
    while (this.oldest !== null && this.oldest.at < horizon) this.remove(this.oldest);
    const replaced = this.clients.get(clientId)?.byPacket.get(packetId);
    if (replaced !== undefined) this.remove(replaced);
    let client = this.clients.get(clientId);
    if (client === undefined) {
      client = { clientId, byPacket: new Map(), oldest: null, newest: null };
      this.clients.set(clientId, client);
    }
    const entry = new Entry(client, packetId, topic, payload.length, fingerprint(payload), source, now);
    client.byPacket.set(packetId, entry);
    this.count++;
    this.append(entry);
    if (client.byPacket.size > this.maxPerClient) this.remove(client.oldest!);
    while (this.count > this.maxEntries) this.remove(this.oldest!);
    return entry;
  }

  /**
   * The source of the remembered publish that this DUP repeats (same client, packet id,
   * topic and payload bytes), or null. A match renews the entry: the client still holds
   * the message and may send it again after another lost PUBACK.
   */
  match(clientId: string, packetId: number, topic: string, payload: Uint8Array): string | null {
    const entry = this.clients.get(clientId)?.byPacket.get(packetId);
    if (entry === undefined) return null;
    const now = this.now();
    if (now - entry.at > this.windowMs) {
      this.remove(entry);
      return null;
    }
    if (entry.topic !== topic || entry.length !== payload.length || entry.hash !== fingerprint(payload)) return null;
    this.unlink(entry);
    entry.at = now;
    this.append(entry);
    return entry.source;
  }

  /**
   * Drops an entry whose event was not stored after all (its write failed, or the store
   * refused it), unless its packet id stands for a newer publish by now.
   */
  forget(handle: Remembered): void {
    const entry = this.clients.get(handle.clientId)?.byPacket.get(handle.packetId);
    if (entry === handle) this.remove(entry);
  }

  private remove(entry: Entry): void {
    const client = entry.owner;
    this.unlink(entry);
    client.byPacket.delete(entry.packetId);
    this.count--;
    if (client.byPacket.size === 0) this.clients.delete(client.clientId);
  }

  private append(entry: Entry): void {
    const client = entry.owner;
    entry.prev = this.newest;
    if (this.newest !== null) this.newest.next = entry;
    else this.oldest = entry;
    this.newest = entry;
    entry.prevOfClient = client.newest;
    if (client.newest !== null) client.newest.nextOfClient = entry;
    else client.oldest = entry;
    client.newest = entry;
  }

  private unlink(entry: Entry): void {
    const client = entry.owner;
    if (entry.prev !== null) entry.prev.next = entry.next;
    else this.oldest = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    else this.newest = entry.prev;
    if (entry.prevOfClient !== null) entry.prevOfClient.nextOfClient = entry.nextOfClient;
    else client.oldest = entry.nextOfClient;
    if (entry.nextOfClient !== null) entry.nextOfClient.prevOfClient = entry.prevOfClient;
    else client.newest = entry.prevOfClient;
    entry.prev = entry.next = entry.prevOfClient = entry.nextOfClient = null;
  }
}

/**
 * FNV-1a, 32 bits: a DUP that reuses a packet id for different bytes is a new message (and
 * a collision would also need the same client, packet id, topic and length in the window).
 */
function fingerprint(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}
