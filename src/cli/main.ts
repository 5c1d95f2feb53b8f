// `edgebus <verb>`: argument parsing and dispatch. Exit codes: 0 ok, 1 user error, 2 runtime failure.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { SchemaError } from '../config/validate.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, processIo, RuntimeFailure, UsageError, type Io } from './args.js';
import { runCheck } from './check.js';
import { runCheckpoint } from './checkpoint.js';
import { runDevices } from './devices.js';
import { runDlq } from './dlq.js';
import { runEvents } from './events.js';
import { runPasswd } from './passwd.js';
import { runRebuild } from './rebuild.js';
import { runReplay } from './replay.js';
import { runRules } from './rules.js';
import { runSink } from './sink.js';
import { runStart } from './start.js';
import { runStatus } from './status.js';
import { runStreams } from './streams.js';

const USAGE = `usage: edgebus <verb> [--config FILE]

  start                       run the daemon until SIGTERM/SIGINT
  check                       validate the configuration
  check --desired FILE        validate a desired-state document offline, show what it would change
  fleet push FILE --url URL (--gateway ID... | --fleet --gateways N) [--timeout 60s]
                              publish a desired-state document, wait for the gateways' reports
  events [--since 10m|ISO] [--until ISO] [--source ID] [--type T]
         [--from-seq N] [--from-version N] [--from-id ID] [--correlation ID]
         [--limit N] [--corrected] [--json] [--follow] [--as as-stored|latest]
                              print stored events in log order (--from-version: with
                              --source, from that version of its stream; --correlation: the
                              chain, --corrected: with timestamps corrected for
                              later steps of the clock; --follow, -f: then each new
                              one as it is committed, until Ctrl-C; needs the
                              running daemon; --as latest: upcast to the latest
                              version of their schema)
  status [--json]             the running daemon's state
  streams [--json]            one row per source: epoch, first/last seq and count of
                              its events held, last seen, gaps and resets recorded
  devices [ID] [--json]       the current state of each device (last value per
                              sensor, status, location, metadata, profile)
  rebuild state               rebuild the device state from the log (daemon stopped)
  dlq list [--limit N] [--json]
                              list rejected payloads and events upstream refused
  dlq retry [ID…]             send entries (all without ids) through the daemon again
  dlq purge [ID…]             drop entries (all without ids)
  replay --from checkpoint|checkpoint:NAME|seq:N|time:ISO|id:EVENT_ID|all
         [--to upstream|rules]
                              re-send stored events (needs the running daemon);
                              checkpoint:NAME starts after that checkpoint
  checkpoint set NAME [--at now|seq:N|time:ISO]
                              name a point in the log (default: its last event)
  checkpoint list [--json]    named checkpoints and the forwarder's cursor (upstream)
  checkpoint rm NAME          forget a named checkpoint
  rules test FILE [--since 24h] [--json]
                              what one rule file would have emitted over stored events
  sink [--dry-run]            take the gateways' batches from the cloud broker (config sink:)
                              into PostgreSQL; --dry-run: print what it would write,
                              write and acknowledge nothing
  passwd                      read a password (stdin, or a prompt on a TTY) and print its scrypt hash for broker.users
`;

const OPTIONS = {
  config: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  source: { type: 'string' },
  type: { type: 'string' },
  'from-seq': { type: 'string' },
  'from-version': { type: 'string' },
  'from-id': { type: 'string' },
  correlation: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  corrected: { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  as: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  at: { type: 'string' },
  'dry-run': { type: 'boolean' },
  desired: { type: 'string' },
  url: { type: 'string' },
  gateway: { type: 'string', multiple: true },
  gateways: { type: 'string' },
  fleet: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`edgebus: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values: v, positionals } = parsed;
  const [verb, ...rest] = positionals;
  if (v.help || !verb) {
    io.out(USAGE);
    return v.help ? EXIT_OK : EXIT_USAGE;
  }
  try {
    switch (verb) {
      case 'start':
        return await runStart({ config: v.config });
      case 'check':
        return runCheck({ config: v.config, desired: v.desired }, io);
      case 'events':
        await runEvents(loadConfig({ file: v.config }).config, {
          since: v.since, until: v.until, source: v.source, type: v.type,
          fromSeq: v['from-seq'], fromVersion: v['from-version'], fromId: v['from-id'], correlation: v.correlation, limit: v.limit, json: v.json, corrected: v.corrected ? 'true' : undefined,
          follow: v.follow, as: v.as,
        }, io);
        return EXIT_OK;
      case 'status':
        if (rest.length) throw new UsageError(`status takes no arguments\n\n${USAGE}`);
        await runStatus(loadConfig({ file: v.config }).config, { json: v.json }, io);
        return EXIT_OK;
      case 'streams':
        if (rest.length) throw new UsageError(`streams takes no arguments\n\n${USAGE}`);
        await runStreams(loadConfig({ file: v.config }).config, { json: v.json }, io);
        return EXIT_OK;
      case 'devices':
        await runDevices(loadConfig({ file: v.config }).config, rest, { json: v.json }, io);
        return EXIT_OK;
      case 'rebuild':
        await runRebuild(loadConfig({ file: v.config }).config, rest, io);
        return EXIT_OK;
      case 'dlq':
        await runDlq(loadConfig({ file: v.config }).config, rest[0], rest.slice(1), { json: v.json, limit: v.limit }, io);
        return EXIT_OK;
      case 'rules':
        return await runRules(loadConfig({ file: v.config }).config, rest[0], rest.slice(1), { since: v.since, json: v.json }, io);
      case 'replay':
        await runReplay(loadConfig({ file: v.config }).config, { from: v.from, to: v.to }, io);
        return EXIT_OK;
      case 'checkpoint':
        await runCheckpoint(loadConfig({ file: v.config }).config, rest[0], rest.slice(1), { at: v.at, json: v.json }, io);
        return EXIT_OK;
      case 'sink':
        if (rest.length) throw new UsageError(`sink takes no arguments\n\n${USAGE}`);
        return await runSink({ config: v.config, dryRun: v['dry-run'] === true }, io);
      case 'fleet':
        // Loaded only here: the MQTT client is not worth its start-up cost to every other verb.
        return await (await import('./fleet.js')).runFleet(rest[0], rest.slice(1), { url: v.url, gateway: v.gateway, gateways: v.gateways, fleet: v.fleet, timeout: v.timeout }, io);
      case 'passwd':
        if (rest.length) throw new UsageError(`passwd takes no arguments\n\n${USAGE}`);
        return await runPasswd(io);
      default:
        throw new UsageError(`unknown verb ${JSON.stringify(verb)}\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof SchemaError) {
      io.err(`edgebus: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof RuntimeFailure) {
      io.err(`edgebus: ${err.message}\n`);
      return EXIT_RUNTIME;
    }
    io.err(`edgebus: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_RUNTIME;
  }
}
