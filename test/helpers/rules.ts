// The rule tests of other features lean on: a reading over 30 °C, seen `count` times in a
// 10-minute window per source, raises `hot`.

export function hotRule(opts: { count: number; message?: string; clear?: boolean }): string {
  return [
    'id: hot',
    'match: { type: DeviceData, sensor: temperature }',
    'where: { value: { gt: 30 } }',
    'groupBy: source',
    'window: { sliding: 10m }',
    `having: { count: { gte: ${opts.count} } }`,
    `emit: { severity: warning, message: ${JSON.stringify(opts.message ?? '{group} hot')} }`,
    ...(opts.clear ? ['clear: { where: { value: { lt: 28 } } }'] : []),
    '',
  ].join('\n');
}
