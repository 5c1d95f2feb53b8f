// One of a sink copy's connections to the cloud broker: a member of the shared group under a
// persistent session of its own. MQTT.js hands a connection its next PUBLISH only once the
// current one is acknowledged (customHandleAcks), and the sink acknowledges after COMMIT, so
// a connection holds one batch at a time; a copy keeps several batches in flight by running
// several members (README "Fleets" › "The sink").
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { SinkConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { brokerOptions, sharedFilter } from './mqtt-options.js';

/** Writes a batch; true once it may be acknowledged (committed, or kept as a dead letter). */
export type BatchHandler = (topic: string, payload: Buffer, contentType: string | undefined) => Promise<boolean>;

export interface MemberOptions {
  config: SinkConfig;
  /** This connection's own, stable across restarts (mqtt-options.ts memberClientIds). */
  clientId: string;
  handle: BatchHandler;
  log: Logger;
  /** Called when the connection comes up or goes down. */
  onLink: () => void;
}

export class GroupMember {
  private readonly client: MqttClient;
  /** Batches being written: stop() lets them finish and be acknowledged. */
  private readonly busy = new Set<Promise<void>>();

  constructor({ config: c, clientId, handle, log, onLink }: MemberOptions) {
    const run = (topic: string, payload: Buffer, packet: IPublishPacket, ack: ((code: number) => void) | null): void => {
      const p = handle(topic, payload, packet.properties?.contentType).then((acknowledge) => {
        if (acknowledge) ack?.(0);
      }, (err: Error) => {
        // Not acknowledged: the broker sends it again when this session reconnects.
        log.error({ err: err.message, topic, clientId }, 'sink: batch not handled');
      }).finally(() => this.busy.delete(p));
      this.busy.add(p);
    };
    this.client = mqtt.connect(c.url, {
      ...brokerOptions(c),
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: Math.round(c.sessionExpiry / 1000), receiveMaximum: c.inflight },
      resubscribe: false,
      // Called for every QoS 1 batch; `ack` sends the PUBACK, and nothing else arrives on this connection until it does.
      customHandleAcks: (topic: string, payload: Buffer, packet: IPublishPacket, ack: (err: Error | number, code?: number) => void) => run(topic, payload, packet, ack),
    });
    this.client.on('connect', (connack) => {
      log.info({ clientId, sessionPresent: connack.sessionPresent }, 'sink: connected');
      onLink();
      if (!connack.sessionPresent) {
        this.client.subscribeAsync(sharedFilter(c), { qos: 1 }).catch((err: Error) => log.error({ err: err.message, clientId }, 'sink: subscribe failed'));
      }
    });
    // A batch published at QoS 0 arrives at QoS 0 and bypasses customHandleAcks: it is
    // written all the same (with nothing to acknowledge), never dropped unseen.
    this.client.on('message', (topic, payload, packet) => {
      if (packet.qos === 0) run(topic, payload, packet, null);
    });
    this.client.on('close', onLink);
    this.client.on('error', (err) => log.warn({ err: err.message, clientId }, 'sink: broker connection error'));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Lets the batches in hand finish (the caller has cut their retries short), then disconnects. */
  async stop(): Promise<void> {
    while (this.busy.size > 0) await Promise.all(this.busy);
    const ending = this.client.endAsync();
    // MQTT.js waits for the socket to close, which needs its unread input read, and it reads
    // nothing more while a batch it handed over is unacknowledged (one that arrived while
    // stopping): without this, stop() would hang. Once the socket has flushed the DISCONNECT
    // and every PUBACK written before it, closing it loses nothing.
    const stream = this.client.stream;
    stream.once('finish', () => stream.destroy());
    await ending;
  }
}
