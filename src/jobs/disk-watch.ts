// Free space on the store's file system (SPEC §2 `store.minFree`): a look every few
// seconds, and when it is under minFree, the prune job at once (evictToFit then gives
// space back until it is over minFree with headroom) instead of at its next cron slot.
//
// Eviction has to start before the disk is full, because LevelDB gives nothing back
// without space to work in: a delete is first a write (a tombstone in the write-ahead log),
// and space returns only when a compaction has written the surviving data anew and dropped
// the old tables. Measured on tmpfs: deleting a quarter of a 200 MB log took 3.3 MB before
// anything came back; evicting 9 000 of 20 000 events (7.8 MB of a 17 MB store) peaked at
// +9 MB before the 7.8 MB came back, and at +16 MB with nothing back while a reader held
// the old tables; a 35 MB store swung by +11 MB on its own during background compactions
// (every level-0 table spans every sublevel, so each compaction into level 1 rewrites most
// of it). With 0 bytes free the delete itself fails (ENOSPC on the log), and so does the
// reopen after a failed write (recovering the log into a table needs space): once the disk
// is full, only space freed by someone else lets ingest resume.
//
// Free space is what this process may use (statfs bavail × bsize: ext4's blocks reserved
// for root do not count unless edgebus runs as root).
import { statfs } from 'node:fs/promises';
import { freeSpaceBytes, type FreeSpace } from '../config/units.js';
import type { DiskBound } from '../store/eviction.js';
import type { Logger } from '../util/log.js';

export interface DiskSpace {
  /** Bytes a write can still use on the file system. */
  freeBytes: number;
  totalBytes: number;
  /** store.minFree in bytes on this file system; 0: not watched. */
  minFree: number;
  /** Free space is under minFree: eviction is due. Writes still succeed. */
  low: boolean;
}

export interface FsFigures {
  bavail: number;
  bsize: number;
  blocks: number;
}

export interface DiskWatchOptions {
  /** A directory on the file system to watch (the store's). */
  dir: string;
  minFree: FreeSpace;
  log: Logger;
  /**
   * Free space is under minFree (called again each look while it stays so, never while the
   * last call is pending). Resolves false when nothing could be evicted: it is then not
   * called again until free space drops further, rather than compacting every few seconds
   * for nothing while another program holds the disk.
   */
  onLow: (space: DiskSpace) => Promise<boolean>;
  /** How often to look (monotonic timer); default DISK_CHECK_MS. */
  intervalMs?: number;
  /** The file system's figures (tests); default fs.statfs. */
  statfs?: (dir: string) => Promise<FsFigures>;
}

/**
 * Between looks. At the ~5 MB/s an SD card sustains, a few seconds is some 10 MB written:
 * well inside any sane minFree, and a statfs is one cheap syscall.
 */
export const DISK_CHECK_MS = 2_000;

export class DiskWatch {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastSpace: DiskSpace | null = null;
  /** Free bytes when onLow last found nothing to evict: no call again until below them. */
  private idleAbove: number | null = null;
  private readonly statfs: (dir: string) => Promise<FsFigures>;

  constructor(private readonly opts: DiskWatchOptions) {
    this.statfs = opts.statfs ?? ((dir) => statfs(dir));
  }

  /** Looks once (so status and eviction have figures from the start), then every interval. */
  async start(): Promise<DiskSpace> {
    const space = await this.read();
    this.arm();
    return space;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The last look; null before start. */
  get last(): DiskSpace | null {
    return this.lastSpace;
  }

  /** Looks now (statfs), without acting on it. */
  async read(): Promise<DiskSpace> {
    const fs = await this.statfs(this.opts.dir);
    const totalBytes = fs.blocks * fs.bsize;
    const freeBytes = fs.bavail * fs.bsize;
    const minFree = freeSpaceBytes(this.opts.minFree, totalBytes);
    const space: DiskSpace = { freeBytes, totalBytes, minFree, low: minFree > 0 && freeBytes < minFree };
    this.noteChange(space);
    this.lastSpace = space;
    return space;
  }

  /** The bound evictToFit applies, as of the last look; null when store.minFree is off. */
  bound(): DiskBound | null {
    const minFree = this.lastSpace?.minFree ?? 0;
    if (minFree === 0) return null;
    return { minFree, freeBytes: async () => (await this.read()).freeBytes };
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.look(), this.opts.intervalMs ?? DISK_CHECK_MS);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    this.timer = null;
    try {
      const space = await this.read();
      if (space.low && (this.idleAbove === null || space.freeBytes < this.idleAbove)) {
        const helped = await this.opts.onLow(space);
        this.idleAbove = helped ? null : (this.lastSpace ?? space).freeBytes;
      }
      if (!space.low) this.idleAbove = null;
    } catch (err) {
      this.opts.log.warn({ err, dir: this.opts.dir }, 'could not measure or act on free disk space');
    } finally {
      this.arm();
    }
  }

  private noteChange(space: DiskSpace): void {
    const was = this.lastSpace?.low ?? false;
    if (space.low === was) return;
    const fields = { dir: this.opts.dir, freeBytes: space.freeBytes, minFree: space.minFree };
    if (space.low) this.opts.log.warn(fields, `free space on the store's file system is under store.minFree (${space.freeBytes} of ${space.minFree} bytes): evicting the oldest events to give space back; ingest goes on`);
    else this.opts.log.info(fields, 'free space on the store\'s file system is over store.minFree again');
  }
}
