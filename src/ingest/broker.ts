// The embedded MQTT broker. Aedes keeps its own protections (the $SYS/ guard, drainTimeout,
// maxTopicLevels); edgebus hooks authorizePublish so a mapped publish is acknowledged only
// once its event is durable: Aedes sends the PUBACK after this callback, not before.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
// node:tls is imported only with a TLS listener: loading it costs ~1.2 MiB of resident set
// (measured alone beside node:net), paid by every gateway that never serves TLS.
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
// Before aedes: it loads mqtt-packet, whose loggers quiet-debug.ts makes cheap.
import './quiet-debug.js';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import { makeRejected } from '../store/rejected.js';
import type { Appender } from '../pipeline/appender.js';
import { BrokerAccess } from './broker-access.js';
import { singleBrokerPersistence } from './broker-persistence.js';
import type { PayloadSchemas } from './payload-schemas.js';
import { normalize } from './normalize.js';
import { RedeliveryMemory } from './redelivery.js';
import type { TopicRouter } from './topics.js';

/** A rejected payload past the size limit keeps only its head: enough to diagnose. */
const OVERSIZE_KEPT_BYTES = 4096;

export interface BrokerOptions {
  host: string;
  port: number;
  maxPayload: number;
  router: TopicRouter;
  appender: Appender;
  access: BrokerAccess;
  /** A second listener, over TLS; with `ca`, client certificates signed by it sign their CN in. */
  tls?: { port: number; cert: string; key: string; ca?: string };
  /** The gateway clock: a reading's receive time. Default: the wall clock. */
  now?: () => number;
  /** Payload schemas to check readings against; absent: none (see payload-schemas.ts). */
  schemas?: PayloadSchemas | null;
}

export class Broker {
  readonly aedes: Aedes;
  private readonly server: Server;
  private tlsServer: TlsServer | null = null;
  /** The TLS listener's certificates, read at construction so that a missing file fails there. */
  private readonly tlsFiles: Pick<SecureContextOptions, 'cert' | 'key' | 'ca'> | null = null;
  private readonly now: () => number;
  private readonly redelivered: RedeliveryMemory;
  private listenerClosed: Promise<void> | null = null;
  private readonly sockets = new Set<Socket>();
  /** normalize's options, made once: not an object per publish. */
  private readonly normalizeOpts: { schemas: PayloadSchemas } | undefined;

  constructor(private readonly opts: BrokerOptions) {
    this.now = opts.now ?? Date.now;
    this.normalizeOpts = opts.schemas ? { schemas: opts.schemas } : undefined;
    this.redelivered = new RedeliveryMemory({ now: this.now });
    const access = opts.access;
    this.aedes = new Aedes({
      persistence: singleBrokerPersistence(),
      authenticate: (client, username, password, cb) => access.authenticate(client, username, password, cb),
      authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => access.authorizeSubscribe(client, sub, cb),
    });
    // Without noDelay a PUBACK waits for the client's next packet (Nagle): ~10 ms at 100 msgs/s.
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (opts.tls) {
      const { cert, key, ca } = opts.tls;
      this.tlsFiles = { cert: readFileSync(cert), key: readFileSync(key), ca: ca ? readFileSync(ca) : undefined };
    }
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const access = this.opts.access;
    if (!access.admit()) {
      socket.destroy();
      return;
    }
    socket.once('close', () => access.leave());
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.aedes.handle(socket);
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    const topic = packet.topic;
    const refused = this.opts.access.checkPublish(client, packet);
    if (refused !== null) return cb(new Error(`publish refused: ${refused}`));
    const match = this.opts.router.match(topic);
    if (match === null) return cb(null);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const now = this.now();
    const clientId = client?.id ?? null;
    if (payload.length > this.opts.maxPayload) {
      const detail = `payload of ${payload.length} bytes exceeds broker.maxPayload (${this.opts.maxPayload}); first ${OVERSIZE_KEPT_BYTES} bytes kept`;
      const record = makeRejected(topic, payload.subarray(0, OVERSIZE_KEPT_BYTES), { reason: 'payload-too-large', detail }, clientId);
      return this.opts.appender.submitRejected(record, cb);
    }
    const packetId = packet.messageId;
    // A resend after a lost PUBACK, acknowledged with the group being built: the original is
    // in it or in the one being written, and a failed write fails the group behind it too
    // (Appender.fail), so this PUBACK never comes before the original is durable.
    if (packet.dup && packet.qos > 0 && clientId !== null && packetId !== undefined) {
      const source = this.redelivered.match(clientId, packetId, topic, payload);
      if (source !== null) return this.opts.appender.submitDuplicate(source, cb);
    }
    let result: ReturnType<typeof normalize>;
    try {
      result = normalize(match, payload, now, this.normalizeOpts);
    } catch (err) {
      // A bug, not the device's fault: keep the bytes with the error rather than crash.
      result = { ok: false, rejection: { reason: 'invalid-payload', detail: `internal error: ${(err as Error).message}` } };
    }
    if (!result.ok) return this.opts.appender.submitRejected(makeRejected(topic, payload, result.rejection, clientId), cb);
    const draft = result.draft;
    // Readings with `id` or `seq` are recognised again by the id index or the sequencer.
    if (packet.qos === 0 || clientId === null || packetId === undefined || draft.explicitId || draft.deviceSeq !== null) {
      return this.opts.appender.submitEvent(draft, cb);
    }
    // Remembered while in flight too: a resend can arrive before the original is durable.
    const entry = this.redelivered.remember(clientId, packetId, topic, payload, draft.source);
    this.opts.appender.submitEvent(draft, (err) => {
      if (err) this.redelivered.forget(entry);
      cb(err);
    });
  }

  /**
   * The broker works (the gateway can publish on it) but takes no connections yet: the
   * rules rebuild their state before the first device may send.
   */
  async open(): Promise<void> {
    await this.aedes.listen();
  }

  /** Takes connections, on TCP and (when configured) TLS. */
  async listen(): Promise<AddressInfo> {
    await listen(this.server, this.opts.port, this.opts.host);
    if (this.tlsFiles && this.opts.tls) {
      const { createServer: createTlsServer } = await import('node:tls');
      const tlsServer = createTlsServer({
        ...this.tlsFiles,
        // Certificates are optional: a client without one signs in with a password.
        requestCert: this.tlsFiles.ca !== undefined, rejectUnauthorized: false,
      }, (socket) => this.accept(socket));
      tlsServer.on('tlsClientError', () => {});
      this.tlsServer = tlsServer;
      await listen(tlsServer, this.opts.tls.port, this.opts.host);
    }
    return this.server.address() as AddressInfo;
  }

  /** The TLS listener's address, when there is one. */
  get tlsAddress(): AddressInfo | null {
    return (this.tlsServer?.address() as AddressInfo | null) ?? null;
  }

  /** Publishes on the local broker as the gateway (commands, alerts, rule actions). */
  publishLocal(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean } = { qos: 1, retain: false }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish({ cmd: 'publish', topic, payload, qos: opts.qos, retain: opts.retain, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /**
   * Corks every client socket while a commit group's PUBACKs are released, so each
   * connection gets one write for all of them (see Appender's `settling`).
   */
  readonly settling = {
    begin: (): void => {
      for (const socket of this.sockets) socket.cork();
    },
    end: (): void => {
      for (const socket of this.sockets) socket.uncork();
    },
  };

  /** Refuses new connections; connected clients keep going until stop(). */
  stopListening(): Promise<void> {
    if (!this.listenerClosed) {
      const tls = this.tlsServer;
      this.listenerClosed = Promise.all([
        new Promise<void>((resolve) => this.server.close(() => resolve())),
        tls ? new Promise<void>((resolve) => tls.close(() => resolve())) : undefined,
      ]).then(() => undefined);
    }
    return Promise.resolve();
  }

  /** Closes every client connection and the broker. */
  async stop(): Promise<void> {
    await this.stopListening();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await this.listenerClosed;
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
