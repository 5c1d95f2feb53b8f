// A loopback TCP proxy in front of a broker, to break a link the way networks do: cut()
// is a hard drop (the broker sees the socket die and fires the Last Will), blackhole() is a
// silent one (sockets stay open, bytes vanish: only keepalive notices).
import { connect, createServer, type Socket } from 'node:net';

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

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: Mode = 'pass';
  const pairs = new Set<Pair>();

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
    client.on('data', (chunk) => {
      if (mode === 'pass' && !upstream.destroyed) upstream.write(chunk);
      else pair.broken = true;
    });
    upstream.on('data', (chunk) => {
      if (mode === 'pass' && !client.destroyed) client.write(chunk);
      else pair.broken = true;
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
    close() {
      mode = 'cut';
      dropAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
