// Topics against patterns, one way for the whole gateway: broker users' topic rules and the
// upstream command filter (MQTT filters: `+` one level, `#` the rest, 3.1.1 §4.7 / 5.0 §4.7)
// and the ingest mappings' templates, which add `{name}` (one level, captured, not empty).
// Levels split on `/`; empty levels count.

/** What the wildcards of a pattern matched. */
export interface Captured {
  /** The levels `+` matched, in order. */
  plus: string[];
  /** The levels `{name}` matched, by name. */
  named: Record<string, string>;
  /** The levels `#` matched (none for `a/#` against `a`); null when the pattern has no `#`. */
  rest: string[] | null;
}

const NAMED = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** The name of a `{name}` level, or null. */
export function capturedName(level: string): string | null {
  return NAMED.exec(level)?.[1] ?? null;
}

/**
 * `filter`: an MQTT filter, where `{name}` is literal text (a broker user's rule must not
 * widen by a typo); `template`: an ingest mapping, where it captures a level.
 */
export type PatternKind = 'filter' | 'template';

const isNamed = (level: string, kind: PatternKind): boolean => kind === 'template' && level.charCodeAt(0) === 123 /* { */ && capturedName(level) !== null;

/** A wildcard first level never matches a `$` topic (`$SYS/…`, MQTT §4.7.2). */
function dollarGuard(pattern: readonly string[], topicText: string, kind: PatternKind): boolean {
  if (topicText.charCodeAt(0) !== 36 /* $ */) return true;
  const first = pattern[0];
  return first !== '+' && first !== '#' && !isNamed(first, kind);
}

/**
 * Whether `topic` (split) matches `pattern` (split), without building what the wildcards
 * matched. When the topic is itself a subscription filter, its wildcards count as literal
 * levels except that only `#` covers a `#`: the answer is "every topic it covers matches".
 */
export function matches(pattern: readonly string[], topic: readonly string[], topicText: string, kind: PatternKind = 'filter'): boolean {
  if (!dollarGuard(pattern, topicText, kind)) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') return true;
    if (i >= topic.length) return false;
    const t = topic[i];
    if (p === '+') {
      if (t === '#') return false;
      continue;
    }
    if (isNamed(p, kind)) {
      if (t === '' || t === '#' || t === '+') return false;
      continue;
    }
    if (p !== t) return false;
  }
  return pattern.length === topic.length;
}

/** What the wildcards of `pattern` matched in `topic`, or null when it does not match. */
export function capture(pattern: readonly string[], topic: readonly string[], topicText: string, kind: PatternKind = 'filter'): Captured | null {
  if (!matches(pattern, topic, topicText, kind)) return null;
  const out: Captured = { plus: [], named: {}, rest: null };
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '#') {
      out.rest = topic.slice(i);
      break;
    }
    if (p === '+') out.plus.push(topic[i]);
    else if (isNamed(p, kind)) out.named[capturedName(p)!] = topic[i];
  }
  return out;
}

/** MQTT caps a topic (and a filter) at 65535 UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65535;

/** Null when `filter` is a valid MQTT topic filter (placeholders allowed in literal levels), else why not. */
export function validFilter(filter: string): string | null {
  if (typeof filter !== 'string' || filter.length === 0) return 'empty filter';
  if (filter.includes('\u0000')) return 'NUL is not allowed in a topic filter';
  if (Buffer.byteLength(filter, 'utf8') > MAX_TOPIC_BYTES) return `longer than ${MAX_TOPIC_BYTES} bytes`;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#')) {
      if (level !== '#') return '# must stand alone in its level';
      if (i !== levels.length - 1) return '# must be the last level';
    }
    if (level.includes('+') && level !== '+') return '+ must stand alone in its level';
  }
  return null;
}
