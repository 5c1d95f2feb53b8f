// `edgebus start`: run the daemon in the foreground until SIGTERM/SIGINT. A desired-state
// document that brings device profiles, routes or config keys (read only at start) asks for
// a restart: the daemon is stopped cleanly (the store flushed, in-flight batches let land)
// and a new one started on the same ports from the reloaded config; if that start fails,
// the document's files are put back and the previous setup started again.
import { Daemon } from '../daemon.js';
import { routeCompiles } from '../routes/config-check.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { rollBackPending } from '../usecases/desired-pending.js';
import { SchemaError } from '../config/validate.js';
import { createLogger, type Logger } from '../util/log.js';
import { SdNotify } from '../util/sd-notify.js';
import { EXIT_OK, EXIT_RUNTIME, UsageError } from './args.js';
import { applyHeapMode, heapModeOf } from './heap-mode.js';
import { enableOptimizingCompiler } from './startup-tiering.js';

const RESTART_RETRY_MS = 1_000;

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
  let log = createLogger(config.log);
  heapLog = log;
  for (const w of warnings) log.warn(w);
  log.debug({ config: file ?? 'built-in defaults', heap }, 'starting');
  // Restarts run one after another, and never before the first start is done: a retained
  // document can arrive while the daemon is still starting, and the restart needs its ports.
  let restarts: Promise<void> = Promise.resolve();
  let firstStart: Promise<unknown> = Promise.resolve();
  const build = (c: Config): Daemon => {
    const d = new Daemon(c, log, file);
    d.bus.on('heap-mode', 'committed', (e) => heapControl.committed(e.events));
    d.onRestartRequest = () => {
      restarts = restarts.then(() => firstStart).then(restart).catch((err: unknown) => log.error({ err }, 'restart failed'));
    };
    return d;
  };
  let daemon = build(config);
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
        await restarts;
        await daemon.stop();
        return EXIT_OK;
      } catch (err) {
        log.error({ err }, 'stop failed');
        return EXIT_RUNTIME;
      }
    })();
    return stopping;
  };
  let ports = { broker: config.broker.port, http: config.http.port };
  let running = false;
  const restart = async (): Promise<void> => {
    if (stopping || !running) return;
    log.info('restarting to apply a desired-state document');
    await daemon.stop();
    for (let attempt = 0; ; attempt++) {
      try {
        const loaded = loadConfig({ file: opts.config, routeCheck: routeCompiles });
        log = createLogger(loaded.config.log);
        heapLog = log;
        daemon = build({ ...loaded.config, broker: { ...loaded.config.broker, port: ports.broker }, http: { ...loaded.config.http, port: ports.http } });
        if (stopping) return;
        await daemon.start();
        return;
      } catch (err) {
        await daemon.stop().catch(() => {});
        // Once: the document's files are put back and the previous setup started again.
        if (attempt === 0 && rollBackPending(config.dataDir, `restart: ${(err as Error).message}`)) {
          log.error({ err }, 'restart with a desired-state document failed; its files are put back');
          // A port another process held a moment ago (the usual cause) may be free again shortly.
          await new Promise((r) => setTimeout(r, RESTART_RETRY_MS));
          continue;
        }
        log.fatal({ err }, 'restart failed');
        process.exit(EXIT_RUNTIME);
      }
    }
  };
  const exitOn = (signal: NodeJS.Signals) => process.once(signal, () => void stop(signal).then((code) => process.exit(code)));
  exitOn('SIGTERM');
  exitOn('SIGINT');
  try {
    const starting = daemon.start().then((a) => {
      // A restart binds the same ports, even those given as 0 (any free one).
      ports = { broker: a.broker.port, http: a.http.port };
      running = true;
      return a;
    });
    firstStart = starting.catch(() => {});
    const { broker, http } = await starting;
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
