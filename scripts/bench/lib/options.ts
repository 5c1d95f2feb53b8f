// Benchmark options: flags win over BENCH_* environment variables, which win over defaults.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  rounds: number;
  seconds: number;
  warmup: number;
  connections: number;
  window: number;
  /** Total publishes per second in the latency phase. */
  rate: number;
  /** Write a V8 CPU profile of the edgebus child during its throughput rounds. */
  profile: boolean;
  mosquitto: boolean;
  /** edgebus `store.durability`: fsync (the default, as shipped) or write. */
  durability: 'fsync' | 'write';
}

const USAGE = `usage: npm run bench:ingest -- [--rounds N] [--seconds S] [--warmup S] [--connections N]
       [--window N] [--rate MSGS_PER_S] [--profile] [--no-mosquitto]
       [--durability fsync|write]
env:   BENCH_ROUNDS BENCH_SECONDS BENCH_WARMUP BENCH_CONNECTIONS BENCH_WINDOW BENCH_RATE BENCH_PROFILE=1
       BENCH_DURABILITY`;

const NUMERIC = {
  rounds: { env: 'BENCH_ROUNDS', default: 3, min: 1, max: 50, integer: true },
  seconds: { env: 'BENCH_SECONDS', default: 5, min: 1, max: 600, integer: false },
  warmup: { env: 'BENCH_WARMUP', default: 1, min: 0, max: 60, integer: false },
  connections: { env: 'BENCH_CONNECTIONS', default: 50, min: 1, max: 5000, integer: true },
  window: { env: 'BENCH_WINDOW', default: 32, min: 1, max: 1000, integer: true },
  rate: { env: 'BENCH_RATE', default: 5000, min: 1, max: 1_000_000, integer: false },
} as const;

type NumericKey = keyof typeof NUMERIC;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' },
      connections: { type: 'string' }, window: { type: 'string' }, rate: { type: 'string' },
      profile: { type: 'boolean' }, 'no-mosquitto': { type: 'boolean' }, durability: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const num = (key: NumericKey): number => {
    const spec = NUMERIC[key];
    const raw = values[key] ?? env[spec.env];
    if (raw === undefined || raw === '') return spec.default;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < spec.min || n > spec.max || (spec.integer && !Number.isInteger(n))) {
      throw new Error(`--${key} (or ${spec.env}) must be ${spec.integer ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}], got ${JSON.stringify(raw)}\n${USAGE}`);
    }
    return n;
  };
  const durability = values.durability ?? env.BENCH_DURABILITY ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'write') {
    throw new Error(`--durability (or BENCH_DURABILITY) must be fsync or write, got ${JSON.stringify(durability)}\n${USAGE}`);
  }
  return {
    rounds: num('rounds'), seconds: num('seconds'), warmup: num('warmup'),
    connections: num('connections'), window: num('window'), rate: num('rate'),
    profile: values.profile ?? env.BENCH_PROFILE === '1',
    mosquitto: !(values['no-mosquitto'] ?? false),
    durability,
  };
}
