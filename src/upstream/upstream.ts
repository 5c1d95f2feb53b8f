// The upstream side of the gateway, assembled: the link to the cloud broker, the forwarder
// that drains the log over it, and the downlink that turns commands into events.
import type { UpstreamConfig } from '../config/types.js';
import type { Appender } from '../pipeline/appender.js';
import type { CommandDelivery } from '../pipeline/command-delivery.js';
import type { EventStore } from '../store/event-store.js';
import type { EventBus } from '../pipeline/bus.js';
import type { Logger } from '../util/log.js';
import { commandDraft, commandTopic } from './commands.js';
import { Forwarder, type ForwarderCounters } from './forwarder.js';
import type { BatchRouting, LatestVersion } from './forwarder-ports.js';
import { UpstreamLink, type UpstreamCommand } from './link.js';
import { SparkplugEdgeNode } from './sparkplug/edge-node.js';
import { redactUrl } from '../util/redact.js';

const SETTLE_MS = 2_000;

export interface UpstreamOptions {
  config: UpstreamConfig;
  /** The config's routes (routes/upstream-routing.ts; local ones too: an event a local route takes leaves the default topic); absent: all to `config.topic`. */
  routing?: BatchRouting;
  /** Events in their schema's latest version, for `eventVersion: latest` (the upstream's or a route's). */
  latest?: LatestVersion;
  gatewayId: string;
  version: string;
  store: EventStore;
  bus: EventBus;
  appender: Appender;
  /** Delivers a stored command to a local device (the broker's `cmd/<device>`), through the outbox. */
  commands: CommandDelivery;
  log: Logger;
  /** Retained documents to follow on the link (desired state), see UpstreamLinkOptions. */
  documentTopics?: readonly string[];
  onDocument?: (topic: string, payload: Buffer) => void;
}

export interface UpstreamStatus {
  url: string;
  connected: boolean;
  protocolVersion: number | null;
  acknowledgedThrough: number;
  backlog: number;
  oldestUnsentSeconds: number;
  forwarded: number;
  batches: number;
  retries: number;
  expired: number;
  deadLettered: number;
  reconnects: number;
}

export class Upstream {
  readonly link: UpstreamLink;
  /** The batch forwarder (cbor, json) or the Sparkplug B edge node: either drains the log from the cursor. */
  readonly forwarder: Forwarder | SparkplugEdgeNode;
  /** Reconnect attempts scheduled by the link. */
  private reconnects = 0;

  constructor(private readonly opts: UpstreamOptions) {
    const sparkplug = opts.config.format === 'sparkplug' ? new SparkplugEdgeNode({
      config: opts.config.sparkplug ?? { groupId: opts.gatewayId, edgeNodeId: opts.gatewayId, primaryHostId: null },
      gatewayId: opts.gatewayId, store: opts.store, lastSeq: () => opts.appender.committedSeq, log: opts.log,
      now: () => opts.appender.clock.now(), timeline: opts.appender.timeline,
      onCommand: (cmd) => this.command(cmd),
    }) : null;
    this.link = new UpstreamLink({
      config: opts.config, gatewayId: opts.gatewayId, version: opts.version, log: opts.log,
      onCommand: (cmd) => this.command(cmd),
      documentTopics: opts.documentTopics, onDocument: opts.onDocument,
      presence: sparkplug?.presence,
    });
    if (sparkplug) {
      sparkplug.attach(this.link);
      this.forwarder = sparkplug;
      return;
    }
    this.forwarder = new Forwarder({
      store: opts.store, bus: opts.bus, link: this.link, config: opts.config, gatewayId: opts.gatewayId,
      lastSeq: () => opts.appender.committedSeq, log: opts.log,
      now: () => opts.appender.clock.now(), timeline: opts.appender.timeline,
      routing: opts.routing, latest: opts.latest,
    });
  }

  async start(): Promise<void> {
    const { bus, log } = this.opts;
    await this.forwarder.init();
    this.link.on('up', ({ protocolVersion }) => {
      log.info({ url: redactUrl(this.opts.config.url), protocolVersion, backlog: this.forwarder.backlog }, 'upstream connected');
      this.forwarder.linkUp();
    });
    this.link.on('down', ({ reason }) => {
      log.warn({ url: redactUrl(this.opts.config.url), reason, backlog: this.forwarder.backlog }, 'upstream link down; events are kept until it returns');
      this.forwarder.linkDown();
    });
    this.link.on('retry', () => this.reconnects++);
    bus.on('upstream', 'appended', () => this.forwarder.poke());
    this.link.start();
  }

  /**
   * Stores the command, then delivers it; the link acknowledges it to the cloud when this
   * resolves (MQTT.js hands messages over one at a time, so commands keep their order).
   * A command that cannot be stored is neither delivered nor acknowledged.
   */
  private async command(cmd: UpstreamCommand): Promise<void> {
    const { appender, gatewayId, commands, log } = this.opts;
    const draft = commandDraft(gatewayId, cmd, appender.clock.now(), (detail) => log.warn({ device: cmd.device }, `command: ${detail}`));
    // The device gets the bytes the cloud sent (chain fields included).
    draft.delivery = { topic: commandTopic(cmd.device), payload: cmd.payload, qos: 1, retain: false };
    if (!(await appender.append(draft))) {
      log.info({ device: cmd.device, id: draft.id }, 'duplicate command ignored');
      return;
    }
    await commands.deliver(draft);
  }

  get counters(): ForwarderCounters & { reconnects: number } {
    return { ...this.forwarder.counters, reconnects: this.reconnects };
  }

  async status(): Promise<UpstreamStatus> {
    const c = this.forwarder.counters;
    return {
      url: redactUrl(this.opts.config.url),
      connected: this.link.connected,
      protocolVersion: this.link.connected ? this.link.protocolVersion : null,
      acknowledgedThrough: this.forwarder.acknowledgedThrough,
      backlog: this.forwarder.backlog,
      oldestUnsentSeconds: Math.round(await this.forwarder.oldestUnsentSeconds()),
      forwarded: c.forwarded, batches: c.batches, retries: c.retries + this.reconnects,
      expired: c.expired, deadLettered: c.deadLettered, reconnects: this.reconnects,
    };
  }

  async stop(): Promise<void> {
    this.opts.bus.removeOwner('upstream');
    // What is in flight is let land, briefly: unacknowledged, it would be sent again after a restart.
    await this.forwarder.settle(SETTLE_MS);
    await this.forwarder.stop();
    await this.link.stop();
  }
}
