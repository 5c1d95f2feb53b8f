// Which upstream topics a batch's events go to. The forwarder keeps one cursor over the log
// and sends each batch as one publish per topic it touches; the batch counts as acknowledged
// only when every one of those publishes is (forwarder.ts), so the cursor never passes an
// event some route has not delivered. An event goes once to each distinct topic its
// matching upstream routes name; an event no route (upstream or local) matches goes to the
// default topic (`upstream.topic`).
//
// A sampled route must decide the same way when a batch is sent again (a refusal, an
// outage): its decisions are kept by seq until the cursor passes them.
import type { EventVersion, RouteConfig } from '../config/types.js';
import type { EdgeEvent } from '../events/types.js';
import type { BatchItem } from '../upstream/batch-encoding.js';
import type { BatchRouting, TopicGroup } from '../upstream/forwarder-ports.js';
import { byPriority, compileRoute, type CompiledRoute } from './route.js';
import { topicAllowance } from './topic-template.js';

/** The default route's place among the routes' priorities. */
const DEFAULT_PRIORITY = 0;

export class UpstreamRouting implements BatchRouting {
  /** Every route, upstream and local, highest priority first: a local match also keeps an event off the default topic. */
  private readonly routes: CompiledRoute[];
  /** Per sampled upstream route: seq → kept, for seqs above the cursor. */
  private readonly decisions = new Map<CompiledRoute, Map<number, boolean>>();
  /** Bytes budgeted for the topic of one publish (the packer's packet size limit). */
  readonly topicBytes: number;

  constructor(routes: readonly RouteConfig[], gatewayId: string, private readonly defaultTopic: string) {
    this.routes = byPriority(routes.map((r, i) => compileRoute(r, gatewayId, ['routes', i])));
    for (const r of this.routes) if (r.destination === 'upstream' && r.sampler !== null) this.decisions.set(r, new Map());
    this.topicBytes = Math.max(Buffer.byteLength(defaultTopic),
      ...routes.filter((r) => r.destination === 'upstream').map((r) => topicAllowance(r.topic)));
  }

  /**
   * The batch's events by topic, highest priority first (then in order of first event).
   * Empty when every event stays local or was thinned out.
   * @param timeOf an event's time on the gateway clock, for interval sampling
   */
  groups(items: readonly BatchItem[], timeOf: (e: EdgeEvent) => number): TopicGroup[] {
    const byTopic = new Map<string, TopicGroup>();
    const add = (topic: string, priority: number, item: BatchItem, eventVersion?: EventVersion): void => {
      // Routes to one topic that ask for different shapes publish there once per shape.
      const key = eventVersion === undefined ? topic : `${eventVersion}\u0000${topic}`;
      let g = byTopic.get(key);
      if (g === undefined) {
        byTopic.set(key, (g = { topic, items: [], priority }));
        if (eventVersion !== undefined) g.eventVersion = eventVersion;
      } else if (priority > g.priority) g.priority = priority;
      // Two routes naming the same topic still put the event there once.
      if (g.items[g.items.length - 1] !== item) g.items.push(item);
    };
    for (const item of items) {
      const e = item.event;
      let matched = false;
      for (const r of this.routes) {
        if (!r.matches(e)) continue;
        matched = true;
        if (r.destination !== 'upstream') continue;
        if (r.sampler !== null && !this.kept(r, e, item.head.seq, timeOf)) continue;
        add(r.topic(e), r.priority, item, r.eventVersion ?? undefined);
      }
      if (!matched) add(this.defaultTopic, DEFAULT_PRIORITY, item);
    }
    const groups = [...byTopic.values()];
    // Array.prototype.sort is stable: equal priorities keep the order of their first event.
    return groups.length > 1 ? groups.sort((a, b) => b.priority - a.priority) : groups;
  }

  /** The cursor reached `cursor`: decisions at or below it are not needed again. */
  passed(cursor: number): void {
    for (const memo of this.decisions.values()) {
      // Mostly in seq order (the drain reads in order; urgent events come early), so the
      // front is what the cursor passed; an early urgent one holds the rest a little longer.
      for (const seq of memo.keys()) {
        if (seq > cursor) break;
        memo.delete(seq);
      }
    }
  }

  private kept(r: CompiledRoute, e: EdgeEvent, seq: number, timeOf: (e: EdgeEvent) => number): boolean {
    const memo = this.decisions.get(r)!;
    let keep = memo.get(seq);
    if (keep === undefined) {
      keep = r.sampler!.keep(e, timeOf(e));
      memo.set(seq, keep);
    }
    return keep;
  }
}
