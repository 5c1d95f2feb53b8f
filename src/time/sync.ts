// Whether the OS says the wall clock is synchronised (config `clock.sync`):
//   auto        systemd-timesyncd's flag file (/run/systemd/timesync/synchronized, made
//               at its first synchronisation), else `timedatectl`'s NTPSynchronized — the
//               kernel's unsynchronised flag, which chrony and ntpd keep too — else unknown;
//   file:PATH   synchronised while PATH exists;
//   always, never.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';
/** timedatectl asks systemd over D-Bus: not on every check. */
const TIMEDATECTL_EVERY_MS = 60_000;

export type SyncSetting = 'auto' | 'always' | 'never' | `file:${string}`;

export function isSyncSetting(v: string): v is SyncSetting {
  return v === 'auto' || v === 'always' || v === 'never' || (v.startsWith('file:') && v.length > 5);
}

export interface SyncOptions {
  /** timesyncd's flag file, for `auto`. */
  flagFile?: string;
  /** Runs `timedatectl show -p NTPSynchronized --value`; resolves null when it cannot answer. */
  timedatectl?: () => Promise<boolean | null>;
  now?: () => number;
}

export class SyncSource {
  private answer: boolean | null = null;
  private askedAt = -Infinity;
  private asking: Promise<void> | null = null;
  private readonly flagFile: string;
  private readonly timedatectl: () => Promise<boolean | null>;
  private readonly now: () => number;

  constructor(private readonly setting: SyncSetting, opts: SyncOptions = {}) {
    this.flagFile = opts.flagFile ?? TIMESYNCD_FLAG;
    this.timedatectl = opts.timedatectl ?? askTimedatectl;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The last answer: true synchronised, false not, null unknown. */
  current(): boolean | null {
    return this.answer;
  }

  /** Asks again: the file at once; timedatectl at most once a minute, awaited only the first time. */
  async refresh(): Promise<boolean | null> {
    const s = this.setting;
    if (s === 'always') return (this.answer = true);
    if (s === 'never') return (this.answer = false);
    if (s.startsWith('file:')) return (this.answer = existsSync(s.slice(5)));
    if (existsSync(this.flagFile)) return (this.answer = true);
    const first = this.askedAt === -Infinity;
    if (this.asking === null && this.now() - this.askedAt >= TIMEDATECTL_EVERY_MS) {
      this.askedAt = this.now();
      this.asking = this.timedatectl().then((a) => {
        this.answer = a;
      }, () => {
        this.answer = null;
      }).finally(() => {
        this.asking = null;
      });
    }
    if (first && this.asking) await this.asking;
    return this.answer;
  }
}

function askTimedatectl(): Promise<boolean | null> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 5_000 }, (err, stdout) => {
      const v = String(stdout).trim();
      resolve(err ? null : v === 'yes' ? true : v === 'no' ? false : null);
    });
  });
}
