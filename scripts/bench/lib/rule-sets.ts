// The rule sets of the rules benchmark: ten rules the load goes through (of four kinds,
// none of which raises), the rest on sensors the load never sends, and a marker rule that
// raises once per marker reading for the latency phase.

/**
 * Ten rules the load's devices (dev-*, never the latency phase's marker) (temperature readings of value ~21.5) goes through without raising, of
 * five kinds. A window holds rate × span events per group: at the load's 100–1,200 readings
 * a second per device, one-second windows hold what a ten-minute window holds over a sensor
 * that reports every few seconds.
 */
function matchingRules(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) out.push(`id: load-where-${i}\nmatch: { type: DeviceData, sensor: temperature, source: "dev-*" }\nwhere: { value: { gt: ${100 + i} } }\n`);
  for (let i = 0; i < 2; i++) out.push(`id: load-count-${i}\nmatch: { sensor: temperature, source: "dev-*" }\ngroupBy: source\nwindow: { count: 20 }\nhaving: { "avg(value)": { gt: ${100 + i} } }\n`);
  out.push(`id: load-sliding\nmatch: { sensor: temperature, source: "dev-*" }\ngroupBy: source\nwindow: { sliding: 1s }\nhaving: { "max(value)": { gt: 100 }, count: { gte: 3 } }\n`);
  out.push(`id: load-tumbling\nmatch: { sensor: temperature, source: "dev-*" }\ngroupBy: source\nwindow: { tumbling: 1s }\nhaving: { "avg(value)": { gt: 100 } }\n`);
  for (let i = 0; i < 2; i++) out.push(`id: load-for-${i}\nmatch: { sensor: temperature, source: "dev-*" }\ngroupBy: source\nwhere: { value: { gt: ${100 + i} } }\nfor: 1m\n`);
  return out;
}

/** `n` rules in all: the ten above, and the rest on sensors the load never sends. */
export function ruleSet(n: number): Record<string, string> {
  if (n === 0) return {};
  const other = Array.from({ length: n - 10 }, (_, i) =>
    `- id: other-${i}\n  match: { type: DeviceData, sensor: sensor-${i} }\n  where: { value: { gt: ${i} } }\n  groupBy: source\n`);
  return { 'load.yaml': matchingRules().map((r) => '- ' + r.trimEnd().replace(/\n/g, '\n  ') + '\n').join(''), 'other.yaml': other.join('') || '[]\n' };
}

export const MARKER_RULE = `id: marker
match: { sensor: temperature, source: marker }
where: { value: { gt: 900 } }
emit: { topic: "alerts/marker/{payload.mark}", message: "marker {payload.mark}" }
`;

