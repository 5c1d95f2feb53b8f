// The upstream MQTT link: one connection to the cloud broker and nothing about batching.
// It keeps itself up with its own backoff (MQTT.js's fixed reconnectPeriod is off, and
// every attempt gets a fresh client so no session state or listener outlives its socket),
// owns the gateway's retained status topic and Last Will, turns messages on the command
// topic into `command` events, and gives every QoS 1 publish an outcome that always
// settles: acknowledged, refused by the broker, or rejected because the link went down.
import { capture } from '../util/topic-match.js';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientPublishOptions, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import type { UpstreamConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { Backoff } from '../util/backoff.js';
import { acceptEveryPubackRefusal, refusalCode, refusalReason } from './puback-refusals.js';
import { redactUrl } from '../util/redact.js';
import type { LinkEvents, LinkPresence, PublishOutcome, UpstreamLinkOptions } from './link-ports.js';
import { clientOptions, endClient, isTopicName, JSON_TYPE, refusesMqtt5, toError, withTimeout, type Attempt, type ProtocolVersion } from './link-attempt.js';

/** The link is down, or went down before the broker acknowledged a publish. Retry later. */
export class LinkDownError extends Error {
  override readonly name = 'LinkDownError';
  constructor(message = 'upstream link is down', options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type { ProtocolVersion };
export type { LinkEvents, LinkMessage, LinkPresence, PublishOutcome, UpstreamCommand, UpstreamLinkOptions } from './link-ports.js';

/** stop() waits this long for the broker to take the retained `offline` status. */
const STOP_STATUS_TIMEOUT_MS = 2_000;

interface Pending {
  resolve: (outcome: PublishOutcome) => void;
  reject: (err: Error) => void;
}


export class UpstreamLink extends EventEmitter<LinkEvents> {
  readonly statusTopic: string;
  private readonly config: UpstreamConfig;
  private readonly gatewayId: string;
  private readonly version: string;
  private readonly log: Logger;
  private readonly onCommand: UpstreamLinkOptions['onCommand'];
  private readonly documentTopics: readonly string[];
  private readonly onDocument: UpstreamLinkOptions['onDocument'];
  private readonly presence: LinkPresence | undefined;
  private readonly backoff: Backoff;
  private readonly pending = new Set<Pending>();
  private current: Attempt | undefined;
  private up = false;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private protocol: ProtocolVersion = 5;

  constructor(opts: UpstreamLinkOptions) {
    super();
    this.config = opts.config;
    this.gatewayId = opts.gatewayId;
    this.version = opts.version;
    this.log = opts.log.child({ component: 'upstream' });
    this.onCommand = opts.onCommand;
    this.documentTopics = opts.documentTopics ?? [];
    this.onDocument = opts.onDocument;
    this.presence = opts.presence;
    this.backoff = new Backoff(opts.config.retry, opts.random);
    this.statusTopic = `edgebus/${opts.gatewayId}/status`;
    acceptEveryPubackRefusal(this.log);
  }

  get connected(): boolean {
    return this.up;
  }

  /** The broker's Maximum Packet Size (MQTT 5 CONNACK); null while down or when it set none. */
  get maxPacketSize(): number | null {
    return this.up ? (this.current?.maxPacketSize ?? null) : null;
  }

  /** 5 until a broker refuses it, then 3.1.1 for the rest of this link's life. */
  get protocolVersion(): ProtocolVersion {
    return this.protocol;
  }

  /** Begins connecting; progress is reported through `up`, `down` and `retry`. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.log.info({ url: redactUrl(this.config.url), clientId: this.config.clientId }, 'upstream: connecting');
    this.connect();
  }

  /**
   * Publishes QoS 1 and resolves once the broker answers. Rejects with LinkDownError when
   * the link is down or drops before the answer: the caller still owns the message.
   */
  publish(topic: string, payload: Buffer, contentType: string, retain = false): Promise<PublishOutcome> {
    if (!isTopicName(topic)) return Promise.reject(new TypeError(`not a valid MQTT topic name: ${JSON.stringify(topic)}`));
    const attempt = this.current;
    if (!this.up || !attempt) return Promise.reject(new LinkDownError());
    const opts: IClientPublishOptions = { qos: 1, retain };
    if (attempt.version === 5) opts.properties = { contentType };
    return new Promise<PublishOutcome>((resolve, reject) => {
      const entry: Pending = { resolve, reject };
      this.pending.add(entry);
      const done = (err?: Error, packet?: Packet): void => {
        // Already settled when the connection closed first.
        if (!this.pending.delete(entry)) return;
        if (!err) return resolve({ ok: true });
        const code = refusalCode(err);
        if (code !== undefined) return resolve({ ok: false, reasonCode: code, reason: refusalReason(err, code, packet) });
        reject(new LinkDownError(`publish failed: ${err.message}`, { cause: err }));
      };
      try {
        attempt.client.publish(topic, payload, opts, done);
      } catch (err) {
        done(toError(err));
      }
    });
  }

  /**
   * Publishes QoS 0 (no answer will come); false when the link is down. MQTT keeps one
   * connection's messages in order, so a QoS 1 publish acknowledged after this one proves
   * the broker took it.
   */
  publishAtMostOnce(topic: string, payload: Buffer): boolean {
    const attempt = this.current;
    if (!this.up || !attempt) return false;
    attempt.client.publish(topic, payload, { qos: 0, retain: false }, (err) => {
      if (err) this.log.debug({ err: err.message, topic }, 'upstream: a QoS 0 publish was not written');
    });
    return true;
  }

  /**
   * Leaves the broker on purpose and connects again through the usual backoff: the
   * presence's farewell first (bounded), then DISCONNECT. A no-op while down or stopping.
   */
  async reconnect(reason: string): Promise<void> {
    const attempt = this.current;
    if (!attempt || !attempt.acked || this.stopped) return;
    attempt.failure ??= new Error(reason);
    await this.sayFarewell(attempt);
    if (this.current !== attempt || this.stopped) return;
    await endClient(attempt.client, true);
  }

  private async sayFarewell(attempt: Attempt): Promise<void> {
    let topic = this.statusTopic;
    let payload: Buffer;
    let options: IClientPublishOptions;
    if (this.presence) {
      const last = this.presence.farewell();
      ({ topic, payload } = last);
      options = { qos: last.qos, retain: last.retain };
    } else {
      ({ payload, options } = this.status('offline', { since: new Date().toISOString() }));
    }
    try {
      await withTimeout(attempt.client.publishAsync(topic, payload, options), STOP_STATUS_TIMEOUT_MS);
    } catch (err) {
      this.log.warn({ err: toError(err).message, topic }, 'upstream: could not publish the last message before disconnecting');
    }
  }

  /**
   * Publishes the retained `offline` status (best effort, bounded), disconnects, and ends
   * the reconnect loop. Idempotent; publishes still pending are rejected with LinkDownError.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const attempt = this.current;
    if (!attempt) return;
    // Once the broker has our `online` (sent right after CONNACK), `offline` must follow:
    // the DISCONNECT below makes the broker discard the will.
    if (attempt.acked) await this.sayFarewell(attempt);
    // The connection may have closed while the status was in flight: then it was handled there.
    if (this.current !== attempt) return;
    this.current = undefined;
    attempt.detach();
    const wasUp = this.up;
    this.up = false;
    const error = new LinkDownError('upstream link stopped');
    this.failPending(error);
    await endClient(attempt.client, attempt.acked);
    if (wasUp) this.emitSafely('down', { reason: 'stopped', error });
    this.log.info('upstream: stopped');
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const version = this.protocol;
    const first = this.attempts++ === 0;
    let client: MqttClient;
    try {
      client = mqtt.connect(this.config.url, clientOptions(this.config, version, this.statusTopic, this.gatewayId, this.presence?.will()));
    } catch (err) {
      // Unreadable certificate files, a malformed URL: worth retrying, the files may be fixed.
      this.scheduleRetry(toError(err));
      return;
    }
    const attempt: Attempt = { client, version, first, acked: false, maxPacketSize: null, detach: () => {} };
    const onConnect = (connack: IConnackPacket): void => this.guard(() => this.onConnect(attempt, connack));
    const onError = (err: Error): void => {
      attempt.failure ??= err;
      this.log.debug({ err: err.message }, 'upstream: client error');
      // After CONNACK an error means a stream MQTT.js can no longer trust (an unparsable
      // packet leaves its parser out of step): drop it now rather than at keepalive.
      if (attempt.acked && this.current === attempt) attempt.client.stream?.destroy();
    };
    // An MQTT 5 broker says why it hangs up (a second gateway with our client id: 0x8E).
    const onDisconnect = (packet: IDisconnectPacket): void => {
      const rc = packet.reasonCode ?? 0;
      const why = packet.properties?.reasonString ?? (mqtt.ReasonCodes as Record<number, string | undefined>)[rc] ?? 'no reason given';
      attempt.failure ??= new Error(`broker disconnected: ${why} (0x${rc.toString(16)})`);
    };
    const onClose = (): void => this.guard(() => this.onClose(attempt));
    client.on('connect', onConnect);
    // MQTT.js sends the PUBACK of an inbound QoS 1 message when handleMessage calls back:
    // a command is acknowledged to the cloud only once it is stored.
    client.handleMessage = (packet, done) => {
      this.inbound(packet as IPublishPacket).then(() => done(), (err: unknown) => done(toError(err)));
    };
    client.on('error', onError);
    client.on('disconnect', onDisconnect);
    client.on('close', onClose);
    attempt.detach = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('disconnect', onDisconnect);
      client.off('close', onClose);
      // A discarded client may still report a late socket error; with no listener left
      // that would be thrown as an uncaught 'error' event.
      client.on('error', () => {});
    };
    this.current = attempt;
  }


  private onConnect(attempt: Attempt, connack: IConnackPacket): void {
    if (this.current !== attempt || this.stopped) return;
    attempt.acked = true;
    attempt.maxPacketSize = connack.properties?.maximumPacketSize ?? null;
    this.backoff.reset();
    const { client, version } = attempt;
    if (!this.presence) {
      const online = this.status('online', { version: this.version, since: new Date().toISOString() });
      client.publish(this.statusTopic, online.payload, online.options, (err) => {
        if (err) this.log.warn({ err: err.message }, 'upstream: could not publish the online status');
      });
    }
    // Retain handling 2: a retained command is an old one, not to be carried out on every reconnect.
    const subOpts: { qos: 1; rh?: number } = version === 5 ? { qos: 1, rh: 2 } : { qos: 1 };
    // `up` waits for the SUBACK, so that a command sent once the link is up is not missed.
    const topics: Record<string, { qos: 1; rh?: number }> = {};
    if (this.presence) for (const t of this.presence.topics) topics[t] = { qos: 1 };
    else topics[this.config.commandTopic] = subOpts;
    // Retain handling 0: a document's retained copy is exactly what is wanted on connect.
    for (const t of this.documentTopics) topics[t] = { qos: 1 };
    client.subscribe(topics, (err) => this.guard(() => {
      if (err) this.log.error({ err: err.message, topics: Object.keys(topics) }, 'upstream: could not subscribe to the command and document topics');
      if (this.current !== attempt || this.stopped) return;
      this.up = true;
      this.log.info({ url: redactUrl(this.config.url), protocolVersion: version }, 'upstream: connected');
      this.emitSafely('up', { protocolVersion: version });
    }));
  }

  private async inbound(packet: IPublishPacket): Promise<void> {
    const topic = packet.topic;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (this.documentTopics.includes(topic)) {
      this.emitDocument(topic, payload);
      return;
    }
    if (this.presence) {
      await this.presence.onMessage(topic, payload, packet.retain);
      return;
    }
    // 3.1.1 brokers cannot be asked to hold back retained messages: a retain flag on
    // delivery marks a stored (stale) one, never a live command.
    if (packet.retain) {
      this.log.warn({ topic }, 'upstream: ignoring a retained command');
      return;
    }
    const device = commandDevice(this.config.commandTopic, topic);
    if (!device) {
      this.log.warn({ topic }, 'upstream: ignoring a command with no device in its topic');
      return;
    }
    const command = { topic, device, payload };
    if (this.onCommand) {
      try {
        await this.onCommand(command);
      } catch (err) {
        // Not stored: no PUBACK, so a broker keeping our session sends it again.
        this.log.error({ err: toError(err).message, topic }, 'upstream: command not stored; not acknowledged');
        throw err;
      }
    }
    this.emitSafely('command', command);
  }

  private onClose(attempt: Attempt): void {
    if (this.current !== attempt) return;
    this.current = undefined;
    attempt.detach();
    // The socket is gone already; this only releases the client's timers and stores.
    attempt.client.end(true);
    const error = attempt.failure ?? new Error(attempt.acked ? 'connection closed' : 'connection closed before CONNACK');
    this.failPending(new LinkDownError(`upstream link down: ${error.message}`, { cause: error }));
    if (this.up) {
      this.up = false;
      this.log.warn({ err: error.message }, 'upstream: connection lost');
      this.emitSafely('down', { reason: error.message, error });
    }
    if (this.stopped) return;
    if (!attempt.acked && attempt.version === 5 && refusesMqtt5(attempt)) {
      this.protocol = 4;
      this.log.warn({ err: error.message }, 'upstream: broker does not accept MQTT 5, falling back to 3.1.1 (no content type on publishes)');
    }
    this.scheduleRetry(error);
  }

  private scheduleRetry(error: Error): void {
    if (this.stopped) return;
    const delayMs = this.backoff.next();
    const attempt = this.backoff.attempts;
    this.log.warn({ attempt, delayMs, err: error.message }, 'upstream: not connected, retrying');
    this.retryTimer = setTimeout(() => this.guard(() => this.connect()), delayMs);
    this.emitSafely('retry', { attempt, delayMs, error });
  }

  private failPending(err: LinkDownError): void {
    const entries = [...this.pending];
    this.pending.clear();
    for (const p of entries) p.reject(err);
  }

  private status(state: 'online' | 'offline', extra: Record<string, string>): { payload: Buffer; options: IClientPublishOptions } {
    const payload = Buffer.from(JSON.stringify({ state, gatewayId: this.gatewayId, ...extra }));
    const options: IClientPublishOptions = { qos: 1, retain: true };
    if (this.current?.version === 5) options.properties = { contentType: JSON_TYPE };
    return { payload, options };
  }

  /** A listener that throws must not unwind into MQTT.js or stop the reconnect loop. */
  /** A document handler that throws must not cost the link its PUBACK loop. */
  private emitDocument(topic: string, payload: Buffer): void {
    try {
      this.onDocument?.(topic, payload);
    } catch (err) {
      this.log.error({ err: toError(err).message, topic }, 'upstream: a document handler threw');
    }
  }

  private emitSafely<K extends keyof LinkEvents>(name: K, ...args: LinkEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: LinkEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.log.error({ err: toError(err).message, event: name }, 'upstream: a link event listener threw');
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: toError(err).message }, 'upstream: unexpected error in the link');
    }
  }
}

/**
 * The device a command topic addresses: the level(s) the filter's trailing `#` matched
 * (joined by '/'), or, for a filter without `#`, the level its last `+` matched. Null when
 * the topic does not match or names no device (`…/commands` itself, `…/commands/`).
 */
export function commandDevice(filter: string, topic: string): string | null {
  const m = capture(filter.split('/'), topic.split('/'), topic);
  if (m === null) return null;
  const device = m.rest !== null ? m.rest.join('/') : (m.plus.at(-1) ?? '');
  return device === '' ? null : device;
}

