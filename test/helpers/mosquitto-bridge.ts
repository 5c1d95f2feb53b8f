// A real MQTT client that redelivers by the book: a Mosquitto broker bridging `sensors/#`
// into edgebus at QoS 1. Mosquitto marks every resend of a QoS 1/2 publish DUP
// ("Any retry attempts are a duplicate", src/database.c) and, with a persistent bridge
// session, resends what is unacknowledged when the bridge reconnects. MQTT.js does neither
// (5.16 resends the stored packet as it was, DUP 0), so it cannot stand in for a device here.
// Publish to `url` (the local listener); the bridge forwards to the target port.
import { startUpstreamBroker, type UpstreamBroker } from './upstream-broker.js';

export interface BridgeOptions {
  /** edgebus' broker port (or a proxy in front of it) */
  targetPort: number;
  /** The client id the bridge signs in to edgebus with. */
  clientId: string;
  topic?: string;
}

export async function startMosquittoBridge(opts: BridgeOptions): Promise<UpstreamBroker> {
  const broker = await startUpstreamBroker({
    extraConfig: [
      'connection edgebus',
      `address 127.0.0.1:${opts.targetPort}`,
      `topic ${opts.topic ?? 'sensors/#'} out 1`,
      `remote_clientid ${opts.clientId}`,
      // A persistent session: what is unacknowledged is resent on reconnect.
      'cleansession false',
      // Plain MQTT 3.1.1: the private bridge flag in CONNECT is not for other brokers.
      'try_private false',
      'bridge_protocol_version mqttv311',
      // Its link state would go to $SYS/broker/connection/…, which edgebus refuses.
      'notifications false',
      'restart_timeout 1',
      'start_type automatic',
    ],
  });
  if (broker.kind !== 'mosquitto') {
    await broker.stop();
    throw new Error('the redelivery tests need Debian\'s mosquitto (/usr/sbin/mosquitto) as the redelivering client');
  }
  return broker;
}
