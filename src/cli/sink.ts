// `edgebus sink [--dry-run]`: run the cloud side (README "Fleets" › "The sink") until SIGTERM/SIGINT.
import { loadConfig } from '../config/load.js';
import { startDryRun } from '../sink/dry-run.js';
import { Sink } from '../sink/sink.js';
import { createLogger } from '../util/log.js';
import { EXIT_OK, RuntimeFailure, UsageError, type Io } from './args.js';

export async function runSink(opts: { config?: string; dryRun: boolean }, io: Io): Promise<number> {
  const { config, file, warnings } = loadConfig({ file: opts.config });
  if (!config.sink) throw new UsageError(`${file ?? 'the configuration'} has no sink section (sink.url at least)`);
  // A dry run prints its lines on stdout, so its log goes to stderr.
  const log = createLogger(config.log, opts.dryRun ? process.stderr : process.stdout);
  for (const w of warnings) log.warn(w);
  let stop: () => Promise<void>;
  if (opts.dryRun) {
    const dry = await startDryRun(config.sink, log, (line) => io.out(`${line}\n`));
    stop = dry.stop;
  } else {
    const sink = new Sink(config.sink, log);
    let httpPort: number;
    try {
      ({ httpPort } = await sink.start());
    } catch (err) {
      await sink.stop().catch(() => {});
      throw new RuntimeFailure(`sink: cannot serve http on ${config.sink.http.host}:${config.sink.http.port}: ${(err as Error).message}`);
    }
    log.info({ clientId: config.sink.clientId, http: `http://${config.sink.http.host}:${httpPort}`, table: config.sink.table, connections: config.sink.connections }, 'sink: started');
    stop = () => sink.stop();
  }
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await stop();
  return EXIT_OK;
}
