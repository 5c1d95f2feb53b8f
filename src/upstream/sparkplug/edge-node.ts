// The gateway as a Sparkplug B edge node (Sparkplug 3.0; README "Sparkplug B"): each device
// of the device-state projection is a Sparkplug device. It takes the batch forwarder's place
// when `upstream.format` is `sparkplug` and drains the same log from the same durable cursor:
//
// - Every CONNECT carries an NDEATH Will with the next bdSeq (0-255), saved in the store so a
//   restart goes on from it. A session starts with NBIRTH (seq 0, that bdSeq, `Node
//   Control/Rebirth`), then a DBIRTH per device with every sensor and its datatype; readings
//   go out as DDATA, an `offline` status as DDEATH. `seq` runs 0-255 over all of them.
// - NCMD `Node Control/Rebirth` births it all again; a DCMD becomes a stored Command.
// - With a primary host, nothing is born (so nothing is sent) until its STATE says online;
//   an offline STATE ends the session with NDEATH and a reconnect. Events left behind wait
//   in the log and go out after the next birth with `is_historical` set.
//
// Sparkplug sends all of this at QoS 0, which the broker never acknowledges. The cursor moves
// only when a QoS 1 publish on the same connection, sent after a chunk, is acknowledged:
// MQTT keeps one connection's packets in order, so that PUBACK proves the broker took every
// QoS 0 message before it. A session that ends first sends the chunk again (as historical).
import type { SparkplugConfig } from '../../config/types.js';
import { decodeEvent } from '../../events/codec.js';
import type { EdgeEvent, JsonObject } from '../../events/types.js';
import type { EventStore } from '../../store/event-store.js';
import { readDeviceStates } from '../../store/device-state.js';
import { readRange } from '../../store/log-range.js';
import { readSparkplugBdSeq, writeSparkplugBdSeq } from '../../store/meta-records.js';
import type { Timeline } from '../../time/timeline.js';
import type { Logger } from '../../util/log.js';
import { ProgressSaver, readBatchNumber, readCursor } from '../cursor.js';
import type { ForwarderCounters, PublishOutcome } from '../forwarder-ports.js';
import type { LinkMessage, LinkPresence, UpstreamCommand } from '../link.js';
import { ReadRetry } from '../read-retry.js';
import { SparkplugDevices } from './devices.js';
import { PrimaryHostState } from './host-state.js';
import { DataType, decodeMetrics, encodePayload, loadSchema, type Metric } from './payload.js';
import { SparkplugTopics } from './topics.js';

/** Events read per chunk: one QoS 1 proof per chunk. */
const CHUNK = 256;
const REBIRTH = 'Node Control/Rebirth';

/** What the edge node needs of the link. */
export interface SparkplugLinkPort {
  readonly connected: boolean;
  publishAtMostOnce(topic: string, payload: Buffer): boolean;
  publish(topic: string, payload: Buffer, contentType: string): Promise<PublishOutcome>;
  reconnect(reason: string): Promise<void>;
}

export interface SparkplugNodeOptions {
  config: SparkplugConfig;
  gatewayId: string;
  store: EventStore;
  /** The log's last durable seq. */
  lastSeq: () => number;
  log: Logger;
  /** The gateway clock: payload timestamps. */
  now: () => number;
  /** Event times on the gateway clock; absent: the events' own timestamps. */
  timeline?: Timeline;
  /** Stores a DCMD as a Command and delivers it to its device. */
  onCommand: (cmd: UpstreamCommand) => Promise<void>;
}

/** What the batch forwarder's resender does; Sparkplug has no place for a batch sent out of order. */
const NO_RESEND = {
  resend: async (): Promise<{ ok: false; reason: string }> => ({ ok: false, reason: 'upstream.format sparkplug cannot resend single events (Sparkplug B has no message for them); the event stays in the DLQ' }),
  replay: async (): Promise<number> => {
    throw new Error('replay --to upstream is not available with upstream.format sparkplug: a rebirth (NCMD Node Control/Rebirth) sends every current value');
  },
};

export class SparkplugEdgeNode {
  readonly counters: ForwarderCounters = { forwarded: 0, batches: 0, retries: 0, expired: 0, deadLettered: 0 };
  readonly resender = NO_RESEND;
  readonly presence: LinkPresence;
  readonly topics: SparkplugTopics;
  /** The QoS 1 publish that proves a chunk's QoS 0 messages reached the broker. */
  readonly proofTopic: string;
  private readonly host: PrimaryHostState | null;
  private readonly log: Logger;
  private link: SparkplugLinkPort | null = null;
  private cursor = 0;
  private batchNumber = 0;
  private saver: ProgressSaver | null = null;
  /** -1 until the first CONNECT ever. */
  private bdSeq = -1;
  private seq = 0;
  /** The next event to send in this session. */
  private next = 1;
  /** Events below it were in the log when the session was born: they go out as historical. */
  private liveFrom = 1;
  private readonly devices: SparkplugDevices;
  private generation = 0;
  private connected = false;
  private live = false;
  private birthWanted = false;
  private rebirthWanted = false;
  private pumping = false;
  private pumpAgain = false;
  private proving = false;
  private holding = false;
  private stopped = false;
  private readonly readRetry = new ReadRetry(() => this.pump());
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: SparkplugNodeOptions) {
    this.log = opts.log.child({ component: 'sparkplug' });
    this.topics = new SparkplugTopics(opts.config);
    this.host = opts.config.primaryHostId === null ? null : new PrimaryHostState();
    this.proofTopic = `edgebus/${opts.gatewayId}/sparkplug/through`;
    this.devices = new SparkplugDevices({
      topics: this.topics, store: opts.store, log: this.log,
      timeOf: (e) => this.timeOf(e),
      publish: (topic, metrics) => this.publish(topic, metrics),
    });
    const topics = [this.topics.ncmd, this.topics.dcmdFilter];
    if (this.topics.state !== null) topics.push(this.topics.state);
    this.presence = {
      will: () => this.nextWill(),
      topics,
      onMessage: (topic, payload, retain) => this.inbound(topic, payload, retain),
      farewell: () => this.death(),
    };
  }

  /** The link it publishes on (built after the node, since the node gives it its presence). */
  attach(link: SparkplugLinkPort): void {
    this.link = link;
  }

  async init(): Promise<void> {
    loadSchema();
    this.cursor = await readCursor(this.opts.store);
    this.batchNumber = await readBatchNumber(this.opts.store);
    this.bdSeq = (await readSparkplugBdSeq(this.opts.store)) ?? -1;
    this.saver = new ProgressSaver(this.opts.store, () => ({ cursor: this.cursor, batchNumber: this.batchNumber }),
      (err) => this.log.error({ err }, 'saving the upstream cursor failed'), this.cursor);
    this.next = this.cursor + 1;
  }

  get acknowledgedThrough(): number {
    return this.cursor;
  }

  get backlog(): number {
    return Math.max(0, this.opts.lastSeq() - this.cursor);
  }

  async oldestUnsentSeconds(): Promise<number> {
    const [first] = await readRange(this.opts.store, this.cursor + 1, Infinity, 1);
    if (first === undefined) return 0;
    const t = this.timeOf(decodeEvent(first[1]));
    return Number.isFinite(t) ? Math.max(0, (this.opts.now() - t) / 1000) : 0;
  }

  linkUp(): void {
    this.generation++;
    this.connected = true;
    this.live = false;
    this.next = this.cursor + 1;
    if (this.host === null || this.host.online) this.birthWanted = true;
    else this.log.info({ primaryHost: this.opts.config.primaryHostId }, 'sparkplug: waiting for the primary host to be online before NBIRTH');
    this.pump();
  }

  linkDown(): void {
    this.generation++;
    this.connected = false;
    this.live = false;
    this.devices.reset();
    this.host?.forget();
  }

  poke(): void {
    this.pump();
  }

  drained(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends nothing new and waits (bounded) for the proof in flight. */
  async settle(timeoutMs: number): Promise<void> {
    this.holding = true;
    const deadline = Date.now() + timeoutMs;
    while (this.proving && this.link?.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.readRetry.stop();
    this.generation++;
    await this.saver?.stop();
  }

  private nextWill(): LinkMessage {
    this.bdSeq = (this.bdSeq + 1) % 256;
    const bdSeq = this.bdSeq;
    // The CONNECT cannot wait for the write; a crash before it lands costs one reused bdSeq.
    writeSparkplugBdSeq(this.opts.store, bdSeq).catch((err: unknown) => this.log.error({ err, bdSeq }, 'sparkplug: saving bdSeq failed'));
    return this.death();
  }

  /** NDEATH: the bdSeq alone, no seq (3.0 tck-id-topics-ndeath-payload, -seq). QoS 1, not retained. */
  private death(): LinkMessage {
    const payload = encodePayload({ timestamp: this.opts.now(), metrics: [this.bdSeqMetric()] });
    return { topic: this.topics.ndeath, payload, qos: 1, retain: false };
  }

  private bdSeqMetric(): Metric {
    return { name: 'bdSeq', timestamp: this.opts.now(), datatype: DataType.Int64, longValue: Math.max(0, this.bdSeq) };
  }

  private async inbound(topic: string, payload: Buffer, retain: boolean): Promise<void> {
    try {
      if (topic === this.topics.state) return this.hostState(payload);
      // A retained command is an old one (Sparkplug commands are never retained).
      if (retain) {
        this.log.warn({ topic }, 'sparkplug: ignoring a retained command');
        return;
      }
      if (topic === this.topics.ncmd) return this.nodeCommand(payload);
      const device = this.topics.dcmdDevice(topic);
      if (device !== null) return await this.deviceCommand(topic, device, payload);
    } catch (err) {
      // Bytes from the network: a bad one is logged, never thrown into the link.
      this.log.warn({ topic, err: err instanceof Error ? err.message : String(err) }, 'sparkplug: a message could not be read, or its command not stored; dropped');
    }
  }

  private hostState(payload: Buffer): void {
    const verdict = this.host!.take(payload);
    this.log.info({ primaryHost: this.opts.config.primaryHostId, verdict }, 'sparkplug: primary host STATE');
    if (verdict === 'online' && this.connected && !this.live) {
      this.birthWanted = true;
      this.pump();
    } else if (verdict === 'offline' && this.live) {
      // 3.0 tck-id-message-flow-edge-node-birth-publish-phid-offline: NDEATH, disconnect, start over.
      // Before a birth the node just keeps waiting: a retained offline STATE would otherwise
      // make it reconnect (and spend a bdSeq) in a loop on the one broker it has.
      this.live = false;
      this.generation++;
      this.devices.reset();
      void this.link?.reconnect('primary host offline');
    }
  }

  private nodeCommand(payload: Buffer): void {
    const rebirth = decodeMetrics(payload).some((m) => m.name === REBIRTH && m.value === true);
    if (!rebirth) {
      this.log.warn('sparkplug: NCMD without Node Control/Rebirth = true ignored (no other node metric is writable)');
      return;
    }
    if (!this.live) return;
    this.rebirthWanted = true;
    this.pump();
  }

  /** A DCMD's metrics as the Command's JSON payload: `{ "<metric>": value, … }`. */
  private async deviceCommand(topic: string, device: string, payload: Buffer): Promise<void> {
    const values: JsonObject = {};
    for (const m of decodeMetrics(payload)) if (m.name !== null) values[m.name] = m.value;
    await this.opts.onCommand({ topic, device, payload: Buffer.from(JSON.stringify(values)) });
  }

  private timeOf(e: EdgeEvent): number {
    return this.opts.timeline ? this.opts.timeline.eventTime(e) : Date.parse(e.timestamp);
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.fill().then(() => this.readRetry.succeeded(), (err: unknown) => {
      this.log.error({ err }, 'sparkplug: sending from the log failed');
      this.readRetry.failed();
    }).finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async fill(): Promise<void> {
    for (;;) {
      const link = this.link;
      if (this.stopped || this.holding || !this.connected || !link?.connected) return;
      const gen = this.generation;
      if (this.birthWanted || this.rebirthWanted) {
        const fresh = this.birthWanted;
        this.birthWanted = this.rebirthWanted = false;
        await this.birth(fresh, gen);
        continue;
      }
      if (!this.live) return;
      const last = this.opts.lastSeq();
      if (this.next > last) {
        this.idle();
        return;
      }
      const entries = await readRange(this.opts.store, this.next, last, CHUNK);
      if (gen !== this.generation) continue;
      let through = entries.length ? this.next - 1 : last;
      let sent = false;
      let count = 0;
      for (const [seq, bytes] of entries) {
        // A rebirth request stops DATA at once (3.0 tck-id-operational-behavior-data-commands-rebirth-action-1).
        if (this.rebirthWanted) break;
        const e = decodeEvent(bytes);
        if (await this.devices.send(e, e.seq < this.liveFrom)) sent = true;
        if (gen !== this.generation) break;
        through = seq;
        count++;
      }
      if (gen !== this.generation) continue;
      this.devices.flush();
      this.next = through + 1;
      if (sent && !(await this.prove(link, through, gen))) continue;
      this.advance(through, count);
    }
  }

  /** Publishes the proof for a chunk; true once the broker acknowledged it. */
  private async prove(link: SparkplugLinkPort, through: number, gen: number): Promise<boolean> {
    this.proving = true;
    try {
      const outcome = await link.publish(this.proofTopic, Buffer.from(JSON.stringify({ through, bdSeq: this.bdSeq })), 'application/json');
      if (gen !== this.generation) return false;
      if (outcome.ok) return true;
      // Without a proof the cursor cannot move; sending on would only grow what goes again.
      this.log.error({ topic: this.proofTopic, reason: outcome.reason }, 'sparkplug: the broker refused the delivery proof; the node stops sending until the link is up again (allow QoS 1 publishes on this topic)');
      this.live = false;
      return false;
    } catch {
      // The link dropped: linkDown has started a new generation already.
      return false;
    } finally {
      this.proving = false;
    }
  }

  private advance(through: number, events: number): void {
    if (through <= this.cursor) return;
    this.cursor = through;
    this.counters.forwarded += events;
    this.counters.batches++;
    this.batchNumber++;
    this.saver?.schedule();
  }

  private idle(): void {
    if (this.backlog > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** NBIRTH, then a DBIRTH per device (and DDEATH for those offline). `fresh`: a new session. */
  private async birth(fresh: boolean, gen: number): Promise<void> {
    this.seq = 0;
    this.devices.reset();
    if (fresh) this.liveFrom = this.opts.lastSeq() + 1;
    const rebirth: Metric = { name: REBIRTH, timestamp: this.opts.now(), datatype: DataType.Boolean, booleanValue: false };
    if (!this.publish(this.topics.nbirth, [this.bdSeqMetric(), rebirth])) return;
    this.log.info({ bdSeq: this.bdSeq, fresh, historical: Math.max(0, this.liveFrom - this.next) }, 'sparkplug: NBIRTH');
    const states = await readDeviceStates(this.opts.store);
    if (gen !== this.generation) return;
    if (this.devices.birthAll(states)) this.live = true;
  }

  /** One node or device message with the next seq, at QoS 0; false when the link is down. */
  private publish(topic: string, metrics: Metric[]): boolean {
    const seq = this.seq;
    this.seq = (seq + 1) % 256;
    return this.link!.publishAtMostOnce(topic, encodePayload({ timestamp: this.opts.now(), metrics, seq }));
  }
}
