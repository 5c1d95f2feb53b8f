// Topic filters for broker.users publish/subscribe lists (SPEC §2): MQTT filter matching
// (3.1.1 §4.7, 5.0 §4.7) and per-user rules with a `{username}` placeholder.

/** The placeholder replaced by the connected user's name. */
const PLACEHOLDER = '{username}';

/** MQTT caps a topic (and a filter) at 65535 UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65535;

/**
 * Whether `topic` matches `filter`: `+` is one level, `#` the rest including the parent
 * (`a/#` matches `a`), levels split on `/` and empty levels count. Topics starting with `$`
 * are not matched by a filter whose first level is `+` or `#` (MQTT §4.7.2).
 *
 * When `topic` is itself a subscription filter, its wildcards are compared literally and a
 * `#` level is matched only by `#`, so the answer is "every topic it covers matches".
 */
export function topicMatches(filter: string, topic: string): boolean {
  return levelsMatch(filter.split('/'), topic.split('/'), topic);
}

function levelsMatch(filterLevels: readonly string[], topicLevels: readonly string[], topic: string): boolean {
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const f = filterLevels[i];
    if (f === '#') return true;
    if (i >= topicLevels.length) return false;
    const t = topicLevels[i];
    if (f === '+') {
      if (t === '#') return false;
      continue;
    }
    if (f !== t) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/** Whether a user may use `topic` (publish to it, or subscribe to it as a filter). */
export type TopicRule = (topic: string, username: string | null) => boolean;

const allowAll: TopicRule = () => true;
const allowNone: TopicRule = () => false;

/** A filter split once: each level is literal, or the pieces around its placeholders. */
interface CompiledFilter {
  levels: readonly string[];
  /** Per level: null when literal, else the text between `{username}` occurrences. */
  templates: readonly (readonly string[] | null)[] | null;
  /** The filter's own first level starts with `$` (a `$` from a username does not count). */
  dollarFirst: boolean;
}

function compileFilter(filter: string): CompiledFilter {
  const levels = filter.split('/');
  const templates = levels.map((l) => (l.includes(PLACEHOLDER) ? l.split(PLACEHOLDER) : null));
  return {
    levels,
    templates: templates.some((t) => t !== null) ? templates : null,
    dollarFirst: levels[0].startsWith('$'),
  };
}

/**
 * A name that can stand in a filter level without escaping it: non-empty, none of `/`,
 * `+`, `#` or NUL (`a/#` would otherwise widen `users/{username}/#` to all of `users/a`).
 */
function safeUsername(username: string | null): username is string {
  return typeof username === 'string' && username.length > 0 && !/[/+#\u0000]/.test(username);
}

function matchCompiled(c: CompiledFilter, topicLevels: readonly string[], topic: string, username: string | null): boolean {
  if (c.templates === null) return levelsMatch(c.levels, topicLevels, topic);
  if (!safeUsername(username)) return false;
  const levels = c.levels.map((l, i) => {
    const parts = c.templates![i];
    return parts === null ? l : parts.join(username);
  });
  // A username starting with `$` must not reach `$SYS/...` through `{username}/#`.
  if (!c.dollarFirst && levels[0].startsWith('$')) return false;
  return levelsMatch(levels, topicLevels, topic);
}

/**
 * The rule for one user's publish or subscribe list: `undefined` allows every topic, `[]`
 * none; otherwise a topic matching any filter, `{username}` replaced by the user's name.
 * A placeholder filter never matches an anonymous user or an unsafe name.
 */
export function compileTopicRule(filters: readonly string[] | undefined): TopicRule {
  if (filters === undefined) return allowAll;
  if (filters.length === 0) return allowNone;
  const compiled = filters.map(compileFilter);
  return (topic, username) => {
    const topicLevels = topic.split('/');
    return compiled.some((c) => matchCompiled(c, topicLevels, topic, username));
  };
}

/** Null when `filter` is a valid topic filter (with `{username}` allowed), else why not. */
export function validTopicFilter(filter: string): string | null {
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
