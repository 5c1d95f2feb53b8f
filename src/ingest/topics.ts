// Topic templates of the `ingest` config: "sensors/{device}/{sensor}" captures one level
// per {name}. Matching splits the topic once and compares level by level.
import type { EventType } from '../events/types.js';
import type { IngestMapping } from '../config/schema.js';

interface CompiledMapping {
  mapping: IngestMapping;
  /** A literal level, or the capture name (for a {name} level). */
  levels: { literal: string | null; capture: string | null }[];
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

const CAPTURE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

function compile(mapping: IngestMapping): CompiledMapping {
  const levels = mapping.topic.split('/').map((level) => {
    const m = CAPTURE.exec(level);
    return m ? { literal: null, capture: m[1] } : { literal: level, capture: null };
  });
  const names = new Set(levels.map((l) => l.capture).filter((c): c is string => c !== null));
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
      if (c.levels.length !== parts.length) continue;
      let captures: Record<string, string> | null = {};
      for (let i = 0; i < parts.length; i++) {
        const level = c.levels[i];
        if (level.literal !== null) {
          if (level.literal !== parts[i]) { captures = null; break; }
        } else {
          if (parts[i] === '') { captures = null; break; }
          captures[level.capture!] = parts[i];
        }
      }
      if (!captures) continue;
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
