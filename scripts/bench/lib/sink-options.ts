// Options of the sink benchmark: flags win over BENCH_* environment variables, which win
// over defaults (the same convention as options.ts).
import { parseArgs } from 'node:util';

export interface SinkBenchOptions {
  rounds: number;
  events: number;
  batchSize: number;
  gateways: number;
  /** Rows per INSERT of the ceiling. */
  chunk: number;
  /** The sink's `inflight` (MQTT receive maximum); null keeps the shipped default. */
  inflight: number | null;
  /** The sink's `connections` (batches in flight per copy); null keeps the shipped default. */
  connections: number | null;
  two: boolean;
}

const USAGE = `usage: npm run bench:sink -- [--rounds N] [--events N] [--batch-size N] [--gateways N]
       [--chunk N] [--inflight N] [--connections N] [--no-two]
env:   BENCH_ROUNDS BENCH_EVENTS BENCH_BATCH_SIZE BENCH_GATEWAYS BENCH_CHUNK BENCH_INFLIGHT BENCH_CONNECTIONS BENCH_NO_TWO=1`;

function int(name: string, raw: string | undefined, dflt: number | null, min: number, max: number): number | null {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}\n${USAGE}`);
  return n;
}

export function parseSinkOptions(argv: string[], env: NodeJS.ProcessEnv): SinkBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' }, events: { type: 'string' }, 'batch-size': { type: 'string' }, gateways: { type: 'string' },
      chunk: { type: 'string' }, inflight: { type: 'string' }, connections: { type: 'string' }, 'no-two': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  return {
    rounds: int('rounds', values.rounds ?? env.BENCH_ROUNDS, 3, 1, 50) as number,
    events: int('events', values.events ?? env.BENCH_EVENTS, 200_000, 1000, 10_000_000) as number,
    batchSize: int('batch-size', values['batch-size'] ?? env.BENCH_BATCH_SIZE, 500, 1, 10_000) as number,
    gateways: int('gateways', values.gateways ?? env.BENCH_GATEWAYS, 8, 1, 1000) as number,
    chunk: int('chunk', values.chunk ?? env.BENCH_CHUNK, 10_000, 100, 100_000) as number,
    inflight: int('inflight', values.inflight ?? env.BENCH_INFLIGHT, null, 1, 65535),
    connections: int('connections', values.connections ?? env.BENCH_CONNECTIONS, null, 1, 64),
    two: !(values['no-two'] ?? env.BENCH_NO_TWO === '1'),
  };
}
