// Home Assistant discovery wired to the gateway (README "Home Assistant"): which broker it
// publishes on (`homeassistant.broker`), where Home Assistant's `<prefix>/status` comes
// from, and the device views (projection + profiles) it describes devices with.
import type { Aedes, AedesPublishPacket } from 'aedes';
import { homeAssistantStatusTopic } from '../homeassistant/discovery.js';
import { HomeAssistant } from '../homeassistant/service.js';
import { version } from '../version.js';
import { deviceView, listDeviceViews } from './device-views.js';
import type { Gateway } from './gateway.js';

export interface HomeAssistantWiring {
  readonly service: HomeAssistant;
  /** Topics the upstream link is to follow for it (Home Assistant's status), empty for the local broker. */
  readonly upstreamTopics: readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

export function homeAssistantFor(g: Gateway, aedes: Aedes): HomeAssistantWiring {
  const { config, store, log } = g;
  const ha = config.homeassistant;
  const local = ha.broker === 'local';
  const statusTopic = homeAssistantStatusTopic(ha.prefix);
  const service = new HomeAssistant({
    naming: { gatewayId: config.gatewayId, prefix: ha.prefix, version, overrides: ha.sensors },
    bus: g.bus, log, ownsGatewayStatus: local,
    devices: () => listDeviceViews(store, config.devicesDir),
    device: (id) => deviceView(store, config.devicesDir, id),
    publish: local
      ? (topic, payload) => new Promise<void>((resolve, reject) => {
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, dup: false }, (err) => (err ? reject(err) : resolve()));
      })
      : async (topic, payload) => {
        const link = g.upstream?.link;
        if (!link) throw new Error('upstream not started');
        const outcome = await link.publish(topic, Buffer.from(payload), 'application/json', true);
        if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
      },
  });
  const deliver: Deliver = (packet, done) => {
    done();
    service.homeAssistantStatus(typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload);
  };
  return {
    service,
    upstreamTopics: local ? [] : [statusTopic],
    async start() {
      // Home Assistant's birth message is not retained by default: listen before publishing.
      if (local) await new Promise<void>((resolve) => aedes.subscribe(statusTopic, deliver, resolve));
      service.start();
      const rules = g.rules;
      // Alerts raised before this start: known once the rules have replayed the log.
      if (rules) void rules.rebuilt.then(() => service.restoreAlerts(rules.engine.activeAlerts()));
    },
    async stop() {
      if (local) await new Promise<void>((resolve) => aedes.unsubscribe(statusTopic, deliver, resolve));
      await service.stop();
    },
  };
}
