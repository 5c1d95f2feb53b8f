// One route of the config (`routes:`), compiled: which events it takes (the rules' `match`
// and `where`), the topic each goes to, and the sampler that thins them.
import type { EventVersion, RouteConfig } from '../config/types.js';
import type { EdgeEvent } from '../events/types.js';
import { compileCondition, type RulePath } from '../rules/conditions.js';
import { matcher } from '../rules/rule-index.js';
import type { Predicate } from '../rules/types.js';
import { Sampler } from './sampler.js';
import { compileTopicTemplate, type TopicOf } from './topic-template.js';

export interface CompiledRoute {
  name: string;
  destination: RouteConfig['destination'];
  priority: number;
  /** match and where: whether the route takes the event at all (before sampling). */
  matches: Predicate;
  topic: TopicOf;
  /** null: every matching event goes. */
  sampler: Sampler | null;
  /** The shape its upstream events leave in; null: the upstream's `eventVersion`. */
  eventVersion: EventVersion | null;
}

/** Throws a RuleError whose path starts with `at` (`['routes', i]`). */
export function compileRoute(route: RouteConfig, gatewayId: string, at: RulePath): CompiledRoute {
  const byMatch = matcher(route.match);
  const where = route.where === null ? null : compileCondition(route.where, [...at, 'where']);
  return {
    name: route.name,
    destination: route.destination,
    priority: route.priority,
    matches: where === null ? byMatch : (e: EdgeEvent) => byMatch(e) && where(e),
    topic: compileTopicTemplate(route.topic, gatewayId, [...at, route.destination]),
    sampler: route.sample === null ? null : new Sampler(route.sample),
    eventVersion: route.eventVersion ?? null,
  };
}

/** Highest priority first; equal priorities keep their order in the config. */
export function byPriority<T extends { priority: number }>(routes: readonly T[]): T[] {
  return routes.map((r, i) => ({ r, i })).sort((a, b) => b.r.priority - a.r.priority || a.i - b.i).map(({ r }) => r);
}
