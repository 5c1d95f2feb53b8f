// Which rules an event can concern, found without looking at the others: rules are filed by
// event type, then by sensor type, and only the rules in the event's two buckets (its own
// type/sensor, and the wildcards) are tested further. A gateway with a thousand rules pays
// per event for the handful that could match, not for the thousand.
import type { EdgeEvent } from '../events/types.js';
import type { CompiledRule, RuleMatch } from './types.js';

const ANY = '*';

/** Sources a glob matcher remembers its answer for: a gateway has a bounded set of devices. */
const SOURCE_MEMORY = 4096;

/** `greenhouse-*` → a RegExp; a pattern without `*` is compared as a plain string. */
export function sourceMatcher(patterns: readonly string[] | null): ((source: string) => boolean) | null {
  if (patterns === null) return null;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns.filter((p) => p.includes('*')).map((p) => new RegExp('^' + p.split('*').map(escapeRegExp).join('.*') + '$'));
  if (globs.length === 0) return (source) => exact.has(source);
  const known = new Map<string, boolean>();
  return (source) => {
    let yes = known.get(source);
    if (yes === undefined) {
      yes = exact.has(source) || globs.some((g) => g.test(source));
      if (known.size < SOURCE_MEMORY) known.set(source, yes);
    }
    return yes;
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A compiled RuleMatch: the cheap test every candidate still has to pass. */
export function matcher(m: RuleMatch): (e: EdgeEvent) => boolean {
  const types = m.types === null ? null : new Set<string>(m.types);
  const sensors = m.sensors === null ? null : new Set(m.sensors);
  const sources = sourceMatcher(m.sources);
  return (e) => (types === null || types.has(e.type))
    && (sensors === null || (e.sensor !== undefined && sensors.has(e.sensor.type)))
    && (sources === null || sources(e.source));
}

const anyEvent = (): boolean => true;

/** Triples remembered per index: beyond, an event's candidates are worked out each time. */
const KNOWN_TRIPLES = 100_000;

interface Entry<T> {
  rule: CompiledRule;
  matches: (e: EdgeEvent) => boolean;
  value: T;
}

export class RuleIndex<T> {
  /** type → sensor → entries; ANY stands for "no constraint". */
  private readonly byType = new Map<string, Map<string, Entry<T>[]>>();
  /** type → sensor ('' for none) → source → the entries that event would get. */
  private readonly known = new Map<string, Map<string, Map<string, Entry<T>[]>>>();
  private remembered = 0;

  /**
   * Each entry is filed under its own `match`: a rule's, or one step of a sequence's. It is
   * filed under each type and sensor it names (or the wildcard), so the bucket an event
   * finds it in has already checked those: only the source is left to test.
   */
  constructor(entries: Iterable<{ rule: CompiledRule; match: RuleMatch; value: T }>) {
    for (const { rule, match, value } of entries) {
      const sources = sourceMatcher(match.sources);
      const entry = { rule, value, matches: sources === null ? anyEvent : (e: EdgeEvent) => sources(e.source) };
      for (const type of match.types ?? [ANY]) {
        let bySensor = this.byType.get(type);
        if (!bySensor) this.byType.set(type, (bySensor = new Map()));
        for (const sensor of match.sensors ?? [ANY]) {
          const list = bySensor.get(sensor);
          if (list) list.push(entry);
          else bySensor.set(sensor, [entry]);
        }
      }
    }
  }

  /**
   * The entries whose match the event passes, in rule load order within each bucket, one
   * per value. A
   * gateway sees a bounded set of (type, sensor, source) triples, so each triple's answer
   * is worked out once and remembered; the array returned must not be changed.
   */
  candidates(e: EdgeEvent): readonly Entry<T>[] {
    const sensor = e.sensor?.type ?? '';
    let bySensor = this.known.get(e.type);
    if (!bySensor) this.known.set(e.type, (bySensor = new Map()));
    let bySource = bySensor.get(sensor);
    if (!bySource) bySensor.set(sensor, (bySource = new Map()));
    const hit = bySource.get(e.source);
    if (hit) return hit;
    const out: Entry<T>[] = [];
    const s = e.sensor?.type;
    this.collectType(this.byType.get(e.type), s, e, out);
    this.collectType(this.byType.get(ANY), s, e, out);
    if (this.remembered < KNOWN_TRIPLES) {
      bySource.set(e.source, out);
      this.remembered++;
    }
    return out;
  }

  private collectType(bySensor: Map<string, Entry<T>[]> | undefined, sensor: string | undefined, e: EdgeEvent, out: Entry<T>[]): void {
    if (!bySensor) return;
    if (sensor !== undefined) this.collect(bySensor.get(sensor), e, out);
    this.collect(bySensor.get(ANY), e, out);
  }

  /** Each value once (a sequence files one per step), at its first place. */
  private collect(list: Entry<T>[] | undefined, e: EdgeEvent, out: Entry<T>[]): void {
    if (!list) return;
    for (const entry of list) if (entry.matches(e) && !out.some((o) => o.value === entry.value)) out.push(entry);
  }
}
