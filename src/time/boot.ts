// Which boot this is, and how long since it began: what lets the gateway's monotonic clock
// carry on exactly across a restart of the daemon (CLOCK_BOOTTIME does not stop or jump
// while the machine is up, whatever the wall clock does).
import { readFileSync } from 'node:fs';

/** The kernel's id for this boot; null where there is none (not Linux). */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Milliseconds since boot (CLOCK_BOOTTIME, 10 ms resolution); null where unreadable. */
export function uptimeMs(): number | null {
  try {
    const seconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Number.isFinite(seconds) ? Math.round(seconds * 1000) : null;
  } catch {
    return null;
  }
}
