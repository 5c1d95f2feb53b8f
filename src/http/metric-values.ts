// The values behind edgebus' own metrics, kept as plain numbers from the start so that
// prom-client need not be loaded until /metrics is first scraped (metrics.ts): most gateways
// are never scraped, and loading prom-client costs the idle daemon ~1.7 MiB of heap and more
// of resident code. The histogram is rendered here too, in prom-client's text format, because
// prom-client's own Histogram cannot take observations made before it existed.

export type Labels = Record<string, string>;

/** Running totals by label set (a counter; an empty label set for an unlabelled one). */
export class Totals<L extends string = never> {
  private readonly byKey = new Map<string, { labels: Record<L, string>; value: number }>();

  inc(labels: Record<L, string>, n = 1): void {
    const key = JSON.stringify(labels);
    const seen = this.byKey.get(key);
    if (seen) seen.value += n;
    else this.byKey.set(key, { labels, value: n });
  }

  /** Each label set and its total, in the order first seen. */
  entries(): IterableIterator<{ labels: Record<L, string>; value: number }> {
    return this.byKey.values();
  }

  /** The total of one label set (0 if never counted). */
  get(labels: Record<L, string>): number {
    return this.byKey.get(JSON.stringify(labels))?.value ?? 0;
  }
}

interface Series {
  labels: Labels;
  /** Observations per bucket (not cumulative); one more than the bounds, for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** A Prometheus histogram by label set, in the text format prom-client writes. */
export class PlainHistogram<L extends string> {
  private readonly series = new Map<string, Series>();

  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {}

  observe(labels: Record<L, string>, value: number): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  /** The `# HELP`, `# TYPE` and sample lines, no trailing newline. */
  text(): string {
    const lines = [`# HELP ${this.name} ${escapeText(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      const rest = labelText(s.labels);
      const withLe = (le: string) => `{le="${le}"${rest ? ',' + rest : ''}}`;
      let acc = 0;
      this.bounds.forEach((b, i) => {
        acc += s.counts[i];
        lines.push(`${this.name}_bucket${withLe(String(b))} ${acc}`);
      });
      lines.push(`${this.name}_bucket${withLe('+Inf')} ${s.count}`);
      const braces = rest ? `{${rest}}` : '';
      lines.push(`${this.name}_sum${braces} ${valueText(s.sum)}`, `${this.name}_count${braces} ${s.count}`);
    }
    return lines.join('\n');
  }
}

function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeText(v).replace(/"/g, '\\"')}"`).join(',');
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return String(v);
}
