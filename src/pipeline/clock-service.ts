// The gateway clock for a run of the daemon (README "Clocks"): started from what the store
// recorded, watched every second against the wall clock and the OS's word on it, each
// change handed to whoever records or re-plans by it, and the point it reached left in the
// store at a clean stop so the next start carries on from there.
import { readClockLog, writeStopMark, type ClockLog } from '../store/clock-log.js';
import type { EventStore } from '../store/event-store.js';
import { bootId, uptimeMs } from '../time/boot.js';
import { GatewayClock, type ClockChange } from '../time/clock.js';
import { clockQuality } from '../time/quality.js';
import { startingPoint } from '../time/start.js';
import { SyncSource, type SyncSetting } from '../time/sync.js';
import { ClockWatch } from '../time/watch.js';
import type { Logger } from '../util/log.js';

export interface ClockStatus {
  quality: string;
  wall: string;
  sync: SyncSetting;
  lastChange: { kind: ClockChange['kind']; delta: number; quality: string; secondsAgo: number } | null;
}

export class ClockService {
  private watch: ClockWatch | null = null;
  private last: ClockChange | null = null;

  private constructor(
    readonly clock: GatewayClock,
    /** The clock's record in the store, as read at start (its timeline goes to the appender). */
    readonly log: ClockLog,
    private readonly sync: SyncSource,
    private readonly setting: SyncSetting,
    private readonly logger: Logger,
  ) {}

  /**
   * The gateway clock for this run, carried on from what the store recorded (time/start.ts).
   * The OS is asked once, before anything is stamped, whether the wall clock is synchronised.
   */
  static async open(store: EventStore, setting: SyncSetting, logger: Logger): Promise<ClockService> {
    const log = await readClockLog(store);
    const sync = new SyncSource(setting);
    const synced = await sync.refresh();
    const boot = bootId();
    const uptime = uptimeMs();
    const wall = Date.now();
    const { g, continuity } = startingPoint({ last: log.last, highest: log.highest, boot, uptime, wall, synced: synced === true });
    const clock = new GatewayClock({ g, wall, quality: clockQuality(wall, synced, false), boot, uptime });
    if (continuity === 'unknown-downtime') {
      logger.info({ quality: clock.quality }, 'gateway clock: started after a reboot whose length the wall clock cannot tell; it carries on from where the store left it');
    }
    return new ClockService(clock, log, sync, setting, logger);
  }

  /** Checks every second from now on; `onChange` gets each step or change of quality. */
  watchChanges(onChange: (change: ClockChange) => void): void {
    this.watch = new ClockWatch({
      clock: this.clock, sync: this.sync,
      onChange: (change) => {
        this.last = change;
        this.report(change);
        onChange(change);
      },
    });
    this.watch.start();
  }

  private report(change: ClockChange): void {
    const fields = { delta: Math.round(change.delta), quality: change.quality, previous: change.previous, from: isoOrNumber(change.from), to: isoOrNumber(change.to) };
    if (change.kind === 'step') this.logger.warn(fields, `wall clock stepped by ${formatDelta(change.delta)}; durations run on the gateway clock and are unaffected`);
    else this.logger.info(fields, `wall clock is now ${change.quality}`);
  }

  status(): ClockStatus {
    const { clock, last } = this;
    return {
      quality: clock.quality, wall: new Date(clock.wall()).toISOString(), sync: this.setting,
      lastChange: last === null ? null : { kind: last.kind, delta: Math.round(last.delta), quality: last.quality, secondsAgo: Math.round((clock.now() - last.at) / 1000) },
    };
  }

  stopWatching(): void {
    this.watch?.stop();
  }

  /** Where the gateway clock stands at a clean stop: the next start carries on from it. */
  async leaveMark(store: EventStore): Promise<void> {
    const { clock } = this;
    const g = clock.now();
    try {
      await writeStopMark(store, { boot: clock.boot, uptime: clock.uptimeAt(g), g, wall: clock.wall(), quality: clock.quality });
    } catch (err) {
      this.logger.warn({ err }, 'could not record the gateway clock at stop');
    }
  }
}

function formatDelta(ms: number): string {
  const a = Math.abs(ms);
  const sign = ms < 0 ? '-' : '+';
  if (a >= 86_400_000) return `${sign}${(a / 86_400_000).toFixed(1)} d`;
  if (a >= 3_600_000) return `${sign}${(a / 3_600_000).toFixed(1)} h`;
  if (a >= 60_000) return `${sign}${(a / 60_000).toFixed(1)} min`;
  return `${sign}${(a / 1000).toFixed(1)} s`;
}

function isoOrNumber(ms: number): string | number {
  return Number.isFinite(ms) && ms >= 0 && ms < 253_402_300_800_000 ? new Date(ms).toISOString() : ms;
}
