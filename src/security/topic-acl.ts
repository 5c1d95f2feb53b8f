// Topic rules for broker.users publish/subscribe lists (SPEC §2): MQTT filters (matched by
// util/topic-match.ts) with a per-user `{username}` placeholder.
import { matches, validFilter } from '../util/topic-match.js';

/** The placeholder replaced by the connected user's name. */
const PLACEHOLDER = '{username}';

/**
 * Whether `topic` matches `filter` (see util/topic-match.ts): `+` is one level, `#` the
 * rest including the parent, and a subscription filter passed as the topic counts as
 * matching when every topic it covers does.
 */
export function topicMatches(filter: string, topic: string): boolean {
  return matches(filter.split('/'), topic.split('/'), topic);
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
  if (c.templates === null) return matches(c.levels, topicLevels, topic);
  if (!safeUsername(username)) return false;
  const levels = c.levels.map((l, i) => {
    const parts = c.templates![i];
    return parts === null ? l : parts.join(username);
  });
  // A username starting with `$` must not reach `$SYS/...` through `{username}/#`.
  if (!c.dollarFirst && levels[0].startsWith('$')) return false;
  return matches(levels, topicLevels, topic);
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
export const validTopicFilter = validFilter;
