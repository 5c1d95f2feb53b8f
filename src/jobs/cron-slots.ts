// The next slot of a cron expression, found with the Date's own local-time getters.
//
// node-cron reads an expression well but finds its slots through Intl.DateTimeFormat, and
// the first such formatter pages in ~5 MB of the ICU data built into the node binary
// (measured on /proc/<pid>/pagemap: 0.45 MiB of icudt resident without it, 5.4 MiB with it),
// which stays in the daemon's resident set for good: 7 % of the idle budget for two jobs a
// minute. So node-cron parses (its public `parse`: the same syntax, names, ranges, steps and
// errors as `edgebus check`), and the walk below finds the slot. The special day tokens
// (`L`, `1#2`, …) are left to node-cron's own walker, which pays the ICU pages only then.
import cron from 'node-cron';

interface Fields {
  second: Set<number>;
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number>;
  /** 1–12, as node-cron numbers them. */
  month: Set<number>;
  /** 0 (Sunday) – 6. */
  dayOfWeek: Set<number>;
}

/** The fields of `schedule` when every value is a number; null when a special token needs node-cron's walker. */
export function plainFields(schedule: string): Fields | null {
  const f = cron.parse(schedule);
  const numbers = (xs: (number | string)[]): Set<number> | null => (xs.every((x) => typeof x === 'number') ? new Set(xs as number[]) : null);
  const dayOfMonth = numbers(f.dayOfMonth);
  const dayOfWeek = numbers(f.dayOfWeek);
  if (dayOfMonth === null || dayOfWeek === null) return null;
  return { second: new Set(f.second), minute: new Set(f.minute), hour: new Set(f.hour), dayOfMonth, month: new Set(f.month), dayOfWeek };
}

/** Days walked before giving up (an expression such as `0 0 31 2 *` never matches). */
const MAX_DAYS = 366 * 8;

/**
 * The first whole second after `fromMs` (local time) that `fields` match, epoch ms; null when
 * none comes within eight years. Like node-cron, a day must match both day-of-month and
 * day-of-week.
 */
export function nextSlot(fields: Fields, fromMs: number): number | null {
  let t = Math.floor(fromMs / 1000) * 1000 + 1000;
  let days = 0;
  while (days <= MAX_DAYS) {
    const d = new Date(t);
    if (!fields.month.has(d.getMonth() + 1) || !fields.dayOfMonth.has(d.getDate()) || !fields.dayOfWeek.has(d.getDay())) {
      d.setHours(0, 0, 0, 0);
      d.setDate(d.getDate() + 1);
      t = d.getTime();
      days++;
      continue;
    }
    // Within a day, steps in absolute time rather than through the local setters: an hour
    // repeated when daylight saving ends is walked twice (node-cron matches both), not skipped.
    const intoMinute = d.getSeconds() * 1000;
    if (!fields.hour.has(d.getHours())) t += (60 - d.getMinutes()) * 60_000 - intoMinute;
    else if (!fields.minute.has(d.getMinutes())) t += 60_000 - intoMinute;
    else if (!fields.second.has(d.getSeconds())) t += 1000;
    else return t;
  }
  return null;
}
