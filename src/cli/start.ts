// `edgebus start`: run the daemon in the foreground until SIGTERM/SIGINT.
import { Daemon } from '../daemon.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../util/log.js';
import { EXIT_OK, EXIT_RUNTIME } from './args.js';

export async function runStart(opts: { config?: string }): Promise<number> {
  const { config, file, warnings } = loadConfig({ file: opts.config });
  const log = createLogger(config.log);
  for (const w of warnings) log.warn(w);
  log.debug({ config: file ?? 'built-in defaults' }, 'starting');
  const daemon = new Daemon(config, log, file);
  let stopping: Promise<number> | null = null;
  const stop = (signal: string): Promise<number> => {
    stopping ??= (async () => {
      log.info({ signal }, 'stopping');
      try {
        await daemon.stop();
        return EXIT_OK;
      } catch (err) {
        log.error({ err }, 'stop failed');
        return EXIT_RUNTIME;
      }
    })();
    return stopping;
  };
  const exitOn = (signal: NodeJS.Signals) => process.once(signal, () => void stop(signal).then((code) => process.exit(code)));
  exitOn('SIGTERM');
  exitOn('SIGINT');
  try {
    await daemon.start();
  } catch (err) {
    log.fatal({ err }, 'start failed');
    await daemon.stop().catch(() => {});
    return EXIT_RUNTIME;
  }
  // Runs until a signal handler exits the process.
  return new Promise<number>(() => {});
}
