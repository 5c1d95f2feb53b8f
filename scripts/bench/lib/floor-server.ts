// The floor: the least any gateway must do to acknowledge a structured reading only once it
// is on disk — JSON.parse, a CBOR encode, a chained LevelDB batch synced per group — with
// none of edgebus' ordering, dedup, indexes or metrics. The prototype in PERF-NOTES, run in
// the same round as the others, so edgebus' cost can be split into what durability itself
// costs on this machine and what edgebus adds on top.
import { rmSync } from 'node:fs';
import { Aedes, type PublishPacket } from 'aedes';
import { encode } from 'cbor-x';
import { ClassicLevel } from 'classic-level';
import { serveAedes } from './serve-aedes.js';

type Callback = (err?: Error | null) => void;

const dir = process.argv[2];
if (!dir) throw new Error('usage: floor-server.js DATA_DIR');
rmSync(dir, { recursive: true, force: true });
const db = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' });
await db.open();

let seq = 0;
let batch = db.batch();
let waiting: Callback[] = [];
let writing = false;

function flush(): void {
  if (writing || waiting.length === 0) return;
  const group = batch;
  const acks = waiting;
  batch = db.batch();
  waiting = [];
  writing = true;
  void group.write({ sync: true }).then(() => {
    writing = false;
    for (const ack of acks) ack(null);
    flush();
  });
}

function authorizePublish(_client: unknown, packet: PublishPacket, cb: Callback): void {
  const reading = JSON.parse(packet.payload.toString()) as unknown;
  seq++;
  const value = encode({ seq, type: 'DeviceData', source: packet.topic, timestamp: new Date().toISOString(), payload: reading });
  batch.put(String(seq).padStart(16, '0'), value);
  waiting.push(cb);
  if (!writing) setImmediate(flush);
}

await serveAedes(new Aedes({ authorizePublish }), () => db.close());
