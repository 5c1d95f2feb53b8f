// `edgebus sink --dry-run`: what the sink would write, one line per event, with nothing
// written and nothing acknowledged. It listens beside the group, not in it: a plain QoS 0
// subscription sees a copy of each batch and takes none from the sinks (a member of the
// share that never acknowledged would hold its batches back from them, and with a clean
// session lose them when it leaves).
import mqtt from 'mqtt';
import type { SinkConfig } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { brokerOptions } from './mqtt-options.js';
import { readMessage } from './sink.js';

export interface DryRun {
  stop(): Promise<void>;
}

export async function startDryRun(c: SinkConfig, log: Logger, out: (line: string) => void): Promise<DryRun> {
  const client = await mqtt.connectAsync(c.url, { ...brokerOptions(c), clientId: `${c.clientId}-dry-run`, clean: true });
  client.on('error', (err) => log.warn({ err: err.message }, 'sink: broker connection error'));
  client.on('message', (topic, payload, packet) => {
    const outcome = readMessage(payload, packet.properties?.contentType);
    if ('reason' in outcome) {
      out(`would reject ${topic} (${payload.length} bytes) into ${c.table}_rejected: ${outcome.reason}`);
      return;
    }
    const { gatewayId, events } = outcome.batch;
    for (const e of events) out(`would insert into ${c.table}: ${gatewayId} ${e.id} seq=${e.seq} ${e.type} ${e.source} ${e.timestamp}`);
  });
  await client.subscribeAsync(c.topic, { qos: 0 });
  log.info({ topic: c.topic }, 'sink: dry run, writing and acknowledging nothing');
  return { stop: () => client.endAsync() };
}
