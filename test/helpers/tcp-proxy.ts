// A loopback TCP proxy in front of a broker, to break a link the way networks do: cut()
// is a hard drop (the broker sees the socket die and fires the Last Will), blackhole() is a
// silent one (sockets stay open, bytes vanish: only keepalive notices). With `mqtt: true`
// it passes whole MQTT packets, records them, and can lose one the way a dying link does.
import { connect, createServer, type Socket } from 'node:net';
import { describePacket, MqttFramer, type PacketInfo } from './mqtt-frames.js';

export interface ProxiedPacket extends PacketInfo {
  direction: 'toBroker' | 'toClient';
  /** lost by dropNextAndClose() */
  dropped: boolean;
}

export interface TcpProxyOptions {
  /** Parse the streams as MQTT: packets() and dropNextAndClose() need it. */
  mqtt?: boolean;
}

export interface TcpProxy {
  port: number;
  /** mqtt://127.0.0.1:port */
  url: string;
  /** Destroys every proxied connection now and closes new ones at once, until restore(). */
  cut(): void;
  /** Keeps connections open but drops every byte both ways, until restore(). */
  blackhole(): void;
  /** Back to passing bytes; a connection that lost bytes meanwhile is dropped (its stream is corrupt). */
  restore(): void;
  /** proxied connections currently open */
  connections(): number;
  /** With `mqtt`: every packet seen so far, both ways, in the order the proxy read them. */
  packets(): readonly ProxiedPacket[];
  /**
   * With `mqtt`: the next broker→client packet of `type` is not passed on and its connection
   * is closed at once, both sides: the link died with that packet on the wire. Resolves
   * with the lost packet.
   */
  dropNextAndClose(type: number): Promise<ProxiedPacket>;
  close(): Promise<void>;
}

type Mode = 'pass' | 'cut' | 'blackhole';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** lost bytes while blackholed, or its broker side closed: dropped on restore */
  broken: boolean;
}

const HOST = '127.0.0.1';

/**
 * A close with no MQTT DISCONNECT: the broker sees a dropped client and fires its Last Will.
 * (Not resetAndDestroy: in Node 20 a reset socket can stay in the handle list, and the test
 * process then spins in its exit cleanup for ever.)
 */
function kill(socket: Socket): void {
  if (!socket.destroyed) socket.destroy();
}

export async function startTcpProxy(targetPort: number, opts: TcpProxyOptions = {}): Promise<TcpProxy> {
  let mode: Mode = 'pass';
  const pairs = new Set<Pair>();
  const seen: ProxiedPacket[] = [];
  let dropRule: { type: number; resolve: (p: ProxiedPacket) => void } | null = null;

  /** Whole packets go on to `to`, each recorded; the armed drop closes the connection instead. */
  const relay = (framer: MqttFramer, direction: ProxiedPacket['direction'], chunk: Buffer, to: Socket, drop: () => void): void => {
    for (const bytes of framer.push(chunk)) {
      const packet: ProxiedPacket = { ...describePacket(bytes), direction, dropped: false };
      seen.push(packet);
      const rule = dropRule;
      if (rule !== null && direction === 'toClient' && packet.type === rule.type) {
        dropRule = null;
        packet.dropped = true;
        drop();
        rule.resolve(packet);
        return;
      }
      if (!to.destroyed) to.write(bytes);
    }
  };

  const server = createServer((client) => {
    if (mode === 'cut') {
      kill(client);
      return;
    }
    const upstream = connect({ port: targetPort, host: HOST });
    const pair: Pair = { client, upstream, broken: false };
    pairs.add(pair);
    const drop = (): void => {
      if (!pairs.delete(pair)) return;
      kill(client);
      kill(upstream);
    };
    // Not pipe(): blackhole mode must be able to swallow bytes on live connections.
    const toBroker = opts.mqtt ? new MqttFramer() : null;
    const toClient = opts.mqtt ? new MqttFramer() : null;
    client.on('data', (chunk: Buffer) => {
      if (mode !== 'pass' || upstream.destroyed) pair.broken = true;
      else if (toBroker) relay(toBroker, 'toBroker', chunk, upstream, drop);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (mode !== 'pass' || client.destroyed) pair.broken = true;
      else if (toClient) relay(toClient, 'toClient', chunk, client, drop);
      else client.write(chunk);
    });
    for (const s of [client, upstream]) s.on('error', () => {});
    client.once('close', drop);
    // While blackholed, the broker giving up on the silent client (its own keepalive)
    // must not reach the client either: only the client's keepalive may notice.
    upstream.once('close', () => {
      if (mode === 'blackhole') pair.broken = true;
      else drop();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as { port: number };

  const dropAll = (): void => {
    for (const p of [...pairs]) {
      pairs.delete(p);
      kill(p.client);
      kill(p.upstream);
    }
  };

  return {
    port,
    url: `mqtt://${HOST}:${port}`,
    cut() {
      mode = 'cut';
      dropAll();
    },
    blackhole() {
      mode = 'blackhole';
    },
    restore() {
      mode = 'pass';
      for (const p of [...pairs]) {
        if (!p.broken) continue;
        pairs.delete(p);
        kill(p.client);
        kill(p.upstream);
      }
    },
    connections: () => pairs.size,
    packets: () => seen,
    dropNextAndClose(type) {
      if (!opts.mqtt) throw new Error('dropNextAndClose needs startTcpProxy(port, { mqtt: true })');
      if (dropRule !== null) throw new Error('a drop is already armed');
      return new Promise((resolve) => (dropRule = { type, resolve }));
    },
    close() {
      mode = 'cut';
      dropAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
