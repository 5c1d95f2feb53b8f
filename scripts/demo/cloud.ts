// The demo's stand-in for the cloud broker: an Aedes with a public listener (what the
// gateway connects to, which an outage takes away) and an internal one for the cloud's own
// subscriber, which stays up so no batch is missed while the gateway reconnects.
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { decode } from 'cbor-x';
import mqtt, { type MqttClient } from 'mqtt';

export interface CloudBatch {
  batch: number;
  events: { seq: number; type: string; source: string }[];
}

interface Listener {
  server: Server;
  sockets: Set<Socket>;
}

export class StandInCloud {
  private readonly aedes = new Aedes();
  private publicSide: Listener | null = null;
  private internal: Listener | null = null;
  private subscriber: MqttClient | null = null;
  private publicPort = 0;
  /** Events received by the cloud's subscriber so far. */
  received = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.publicPort}`;
  }

  async start(topic: string, onBatch: (b: CloudBatch) => void): Promise<void> {
    await this.aedes.listen();
    this.internal = await this.listen(0);
    this.publicSide = await this.listen(0);
    this.publicPort = (this.publicSide.server.address() as { port: number }).port;
    const { port } = this.internal.server.address() as { port: number };
    this.subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'cloud-subscriber', reconnectPeriod: 0 });
    this.subscriber.on('message', (_t, payload) => {
      const body = (payload[0] === 0x7b ? JSON.parse(payload.toString()) : decode(payload)) as CloudBatch;
      this.received += body.events.length;
      onBatch(body);
    });
    await this.subscriber.subscribeAsync(topic, { qos: 1 });
  }

  /** The outage: the public listener goes away and every gateway loses its connection. */
  async cut(): Promise<void> {
    const side = this.publicSide;
    if (!side) return;
    this.publicSide = null;
    const closed = new Promise<void>((resolve) => side.server.close(() => resolve()));
    for (const s of side.sockets) s.destroy();
    await closed;
  }

  /** Back on the same port. */
  async restore(): Promise<void> {
    if (!this.publicSide) this.publicSide = await this.listen(this.publicPort);
  }

  async stop(): Promise<void> {
    await this.subscriber?.endAsync(true).catch(() => {});
    await this.cut();
    const internal = this.internal;
    if (internal) {
      for (const s of internal.sockets) s.destroy();
      await new Promise<void>((resolve) => internal.server.close(() => resolve()));
    }
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  private async listen(port: number): Promise<Listener> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      this.aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return { server, sockets };
  }
}
