// `edgebus start`: run the daemon in the foreground until SIGTERM/SIGINT.
import { Daemon } from '../daemon.js';
import { routeCompiles } from '../routes/config-check.js';
import { loadConfig } from '../config/load.js';
import { SchemaError } from '../config/validate.js';
import { createLogger, type Logger } from '../util/log.js';
import { SdNotify } from '../util/sd-notify.js';
import { EXIT_OK, EXIT_RUNTIME, UsageError } from './args.js';
import { applyHeapMode, heapModeOf } from './heap-mode.js';
import { enableOptimizingCompiler } from './startup-tiering.js';

export async function runStart(opts: { config?: string }): Promise<number> {
  // First, before the config and the store allocate: what start-up leaves behind is collected under it.
  let heap;
  try {
    heap = heapModeOf(process.env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // The switches of `auto` are logged once there is a logger (they come a second apart at the soonest).
  let heapLog: Logger | null = null;
  const heapControl = applyHeapMode(heap, (setting, u) => heapLog?.debug({ heap: setting, eventLoopUtilisation: Number(u.toFixed(2)) }, 'heap: switched'));
  const { config, file, warnings } = loadConfig({ file: opts.config, routeCheck: routeCompiles });
  const log = createLogger(config.log);
  heapLog = log;
  for (const w of warnings) log.warn(w);
  log.debug({ config: file ?? 'built-in defaults', heap }, 'starting');
  const daemon = new Daemon(config, log, file);
  daemon.bus.on('heap-mode', 'committed', (c) => heapControl.committed(c.events));
  // Type=notify under systemd: READY=1 once serving, WATCHDOG=1 while alive, STOPPING=1 on a signal.
  const notify = SdNotify.fromEnv();
  const notifyFailed = (err: unknown): void => log.debug({ err }, 'sd_notify failed');
  let stopping: Promise<number> | null = null;
  const stop = (signal: string): Promise<number> => {
    stopping ??= (async () => {
      heapControl.stop();
      log.info({ signal }, 'stopping');
      notify?.stop();
      await notify?.stopping().catch(notifyFailed);
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
    const { broker, http } = await daemon.start();
    enableOptimizingCompiler();
    notify?.ready(`edgebus ready: broker mqtt://${broker.address}:${broker.port}, http http://${http.address}:${http.port}, data ${config.dataDir}, upstream ${config.upstream?.url ?? 'none (store-only)'}`).catch(notifyFailed);
    notify?.startWatchdog(notifyFailed);
  } catch (err) {
    await daemon.stop().catch(() => {});
    // A schema file with a mistake is the user's to fix, as a bad config is (main prints it).
    if (err instanceof SchemaError) throw err;
    log.fatal({ err }, 'start failed');
    return EXIT_RUNTIME;
  }
  // Runs until a signal handler exits the process.
  return new Promise<number>(() => {});
}
