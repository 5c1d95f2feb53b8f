// Topic templates of the `ingest` config: "sensors/{device}/{sensor}" captures one level
// per {name} (`+` and `#` match as in an MQTT filter; see util/topic-match.ts).
import type { EventType } from '../events/types.js';
import type { IngestMapping } from '../config/schema.js';
import { capture, capturedName } from '../util/topic-match.js';

interface CompiledMapping {
  mapping: IngestMapping;
  levels: readonly string[];
  source: string;
  sensor: string | null;
}

export interface TopicMatch {
  readonly type: EventType;
  readonly source: string;
  readonly sensor: string | null;
  readonly captures: Readonly<Record<string, string>>;
  /** The event's `device` field, shared by every event of this topic (frozen). */
  readonly device: Readonly<{ id: string }>;
}

/** Devices publish on the same few topics again and again: their matches are kept. */
const CACHE_LIMIT = 10_000;

export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

function compile(mapping: IngestMapping): CompiledMapping {
  const levels = mapping.topic.split('/');
  const names = new Set(levels.map(capturedName).filter((c): c is string => c !== null));
  const source = mapping.source ?? (names.has('device') ? '{device}' : mapping.topic);
  const sensor = mapping.sensor ?? (names.has('sensor') ? '{sensor}' : null);
  return { mapping, levels, source, sensor };
}

export class TopicRouter {
  private readonly compiled: CompiledMapping[];
  private readonly cache = new Map<string, TopicMatch | null>();

  constructor(mappings: readonly IngestMapping[]) {
    this.compiled = mappings.map(compile);
  }

  /** The first mapping that matches, with its captures; null for pass-through topics. */
  match(topic: string): TopicMatch | null {
    let m = this.cache.get(topic);
    if (m === undefined) {
      m = this.resolve(topic);
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(topic, m);
    }
    return m;
  }

  private resolve(topic: string): TopicMatch | null {
    const parts = topic.split('/');
    for (const c of this.compiled) {
      const m = capture(c.levels, parts, topic, 'template');
      if (m === null) continue;
      const captures = m.named;
      const source = fillTemplate(c.source, captures);
      return Object.freeze({
        type: c.mapping.type,
        source,
        sensor: c.sensor === null ? null : fillTemplate(c.sensor, captures),
        captures: Object.freeze(captures),
        device: Object.freeze({ id: captures.device ?? source }),
      });
    }
    return null;
  }
}
