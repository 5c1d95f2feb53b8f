// Options of the drain benchmark: flags win over BENCH_* environment variables, which win
// over defaults (the same convention as options.ts).
import { parseArgs } from 'node:util';

export interface DrainOptions {
  /** Backlog sizes, in events, each drained in its own rounds. */
  backlogs: number[];
  /** Rounds for backlogs up to 200,000 events. */
  rounds: number;
  /** Rounds for larger backlogs (a 1M backlog takes about a minute to build). */
  largeRounds: number;
  /** Load generator connections and QoS 1 window per connection while the backlog builds. */
  connections: number;
  window: number;
  /** Daemon overrides for trying settings; null keeps the shipped default. */
  inflight: number | null;
  maxEvents: number | null;
  /** Write a V8 CPU profile of the daemon (the last round's is summarised). */
  profile: boolean;
  /** Seconds the daemon idles between building the backlog and the link's return. */
  settleSeconds: number;
}

const USAGE = `usage: npm run bench:drain -- [--backlogs N[,N…]] [--rounds N] [--large-rounds N]
       [--connections N] [--window N] [--inflight N] [--max-events N] [--settle S] [--profile]
env:   BENCH_BACKLOGS BENCH_ROUNDS BENCH_LARGE_ROUNDS BENCH_CONNECTIONS BENCH_WINDOW
       BENCH_INFLIGHT BENCH_MAX_EVENTS BENCH_SETTLE BENCH_PROFILE=1`;

/** Backlogs above this use --large-rounds. */
export const LARGE_BACKLOG = 200_000;

function int(name: string, raw: string | undefined, dflt: number | null, min: number, max: number): number | null {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}\n${USAGE}`);
  return n;
}

export function parseDrainOptions(argv: string[], env: NodeJS.ProcessEnv): DrainOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backlogs: { type: 'string' }, rounds: { type: 'string' }, 'large-rounds': { type: 'string' },
      connections: { type: 'string' }, window: { type: 'string' }, inflight: { type: 'string' },
      'max-events': { type: 'string' }, settle: { type: 'string' }, profile: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const backlogs = (values.backlogs ?? env.BENCH_BACKLOGS ?? '200000,1000000').split(',').map((s) => {
    const n = Number(s.trim().replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1000 || n > 20_000_000) throw new Error(`--backlogs takes event counts in [1000, 20000000], got ${JSON.stringify(s)}\n${USAGE}`);
    return n;
  });
  return {
    backlogs,
    rounds: int('rounds', values.rounds ?? env.BENCH_ROUNDS, 3, 1, 50) as number,
    largeRounds: int('large-rounds', values['large-rounds'] ?? env.BENCH_LARGE_ROUNDS, 1, 1, 50) as number,
    connections: int('connections', values.connections ?? env.BENCH_CONNECTIONS, 50, 1, 5000) as number,
    window: int('window', values.window ?? env.BENCH_WINDOW, 32, 1, 1000) as number,
    inflight: int('inflight', values.inflight ?? env.BENCH_INFLIGHT, null, 1, 64),
    maxEvents: int('max-events', values['max-events'] ?? env.BENCH_MAX_EVENTS, null, 1, 100_000),
    profile: values.profile ?? env.BENCH_PROFILE === '1',
    settleSeconds: int('settle', values.settle ?? env.BENCH_SETTLE, 5, 0, 600) as number,
  };
}
