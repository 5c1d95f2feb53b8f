// The batches the sink benchmark feeds: events as a gateway stores them (the real codec),
// joined into batches by the forwarder's own encoder, several gateways' streams interleaved
// as a fleet's would arrive. Built once, before anything is timed.
import { encodeValue } from '../../../src/events/codec.js';
import { defaultMetadata, eventOf, type EdgeEvent } from '../../../src/events/types.js';
import { CONTENT_TYPES, encodeBatch } from '../../../src/upstream/batch-encoding.js';
import { StoredItem } from '../../../src/upstream/event-head.js';

export interface BenchBatch {
  topic: string;
  payload: Buffer;
}

export interface BenchLoad {
  batches: BenchBatch[];
  events: number;
  /** The same rows as the sink writes them, column by column, for the ceiling. */
  rows: EventRows;
  contentType: string;
}

export interface EventRows {
  gatewayIds: string[];
  ids: string[];
  seqs: number[];
  sources: string[];
  types: string[];
  times: string[];
  corrected: string[];
  payloads: string[];
}

const START_MS = Date.parse('2026-12-03T04:00:00.000Z');

/** A sensor reading like the ones the gateway stores from a device's JSON publish. */
function reading(gatewayId: string, seq: number): EdgeEvent {
  const device = `sensor-${seq % 20}`;
  const timestamp = new Date(START_MS + seq * 100).toISOString();
  return eventOf({
    id: `${gatewayId}-${seq}`, seq, version: Math.floor(seq / 20) + 1, type: 'DeviceData', source: `devices/${device}/telemetry`, timestamp,
    payload: { temperature: 20 + (seq % 70) / 10, humidity: 40 + (seq % 30), battery: 3.1 },
    sensor: { type: 'temperature', value: 20 + (seq % 70) / 10, unit: 'C', accuracy: null, timestamp },
    device: { id: device, type: 'sensor' },
    metadata: { ...defaultMetadata(), clock: 'synced' },
    deviceSeq: null, explicitId: true, receivedAt: START_MS + seq * 100,
  });
}

export function buildLoad(totalEvents: number, batchSize: number, gateways: number): BenchLoad {
  const ids = Array.from({ length: gateways }, (_, g) => `bench-gw-${String(g + 1).padStart(3, '0')}`);
  const nextSeq = new Array<number>(gateways).fill(1);
  const batchNo = new Array<number>(gateways).fill(1);
  const rows: EventRows = { gatewayIds: [], ids: [], seqs: [], sources: [], types: [], times: [], corrected: [], payloads: [] };
  const batches: BenchBatch[] = [];
  let events = 0;
  // Round robin over the gateways, one batch each: the order a fleet's batches reach the broker.
  for (let g = 0; events < totalEvents; g = (g + 1) % gateways) {
    const n = Math.min(batchSize, totalEvents - events);
    const gatewayId = ids[g];
    const items: StoredItem[] = [];
    for (let i = 0; i < n; i++) {
      const e = reading(gatewayId, nextSeq[g]++);
      items.push(StoredItem.of(encodeValue(e)));
      const corrected = e.timestamp;
      rows.gatewayIds.push(gatewayId); rows.ids.push(e.id); rows.seqs.push(e.seq); rows.sources.push(e.source);
      rows.types.push(e.type); rows.times.push(e.timestamp); rows.corrected.push(corrected);
      rows.payloads.push(JSON.stringify({ ...e, correctedTimestamp: corrected }));
    }
    batches.push({ topic: `edgebus/${gatewayId}/events`, payload: encodeBatch('cbor', gatewayId, batchNo[g]++, items, (h) => h.timestamp) });
    events += n;
  }
  return { batches, events, rows, contentType: CONTENT_TYPES.cbor };
}

/** A batch of one event from a gateway of its own: the copies' warm-up, never timed. */
export function probeBatch(n: number): Buffer {
  return encodeBatch('cbor', 'bench-probe', n, [StoredItem.of(encodeValue(reading('bench-probe', n)))], (h) => h.timestamp);
}
