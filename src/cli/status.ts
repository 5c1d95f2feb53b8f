// `edgebus status [--json]`: the running daemon's state, from its `/api/status` (SPEC §1):
// the JSON as the API returns it, or a compact summary for a person.
import type { Config } from '../config/types.js';
import type { DevicesStatus } from '../devices/devices-service.js';
import type { LatencyFigures, SummarySnapshot } from '../http/summary.js';
import type { ClockStatus } from '../pipeline/clock-service.js';
import type { RulesStatus } from '../rules/rules-service.js';
import type { UpstreamStatus } from '../upstream/upstream.js';
import { readRuntime } from '../util/runtime-file.js';
import { RuntimeFailure, type Io } from './args.js';
import { getText } from './store-access.js';

/** What `/api/status` answers (src/daemon.ts `status()`); fields a newer daemon adds pass through. */
export interface DaemonStatus {
  version: string;
  gatewayId: string;
  state: string;
  uptimeSeconds: number;
  lastSeq: number;
  stagedEvents: number;
  ingestRatePerSecond?: number;
  /** null while the store is closed after a failed write. */
  storeEvents?: number | null;
  storeBytes: number | null;
  /** The store's file system (null: could not be measured). */
  disk?: { freeBytes: number; minFree: number; low: boolean } | null;
  dlqEvents: number;
  clients: number;
  upstream: UpstreamStatus | null;
  rules: RulesStatus | null;
  devices: DevicesStatus | null;
  clock?: ClockStatus | null;
  events?: SummarySnapshot['events'];
  errors?: SummarySnapshot['errors'];
  latency?: SummarySnapshot['latency'];
  sensors?: SummarySnapshot['sensors'];
}

/** Sensors listed one per line by the summary for a person; --json and the dashboard have them all. */
const SENSOR_LINES = 20;

export async function runStatus(config: Config, opts: { json?: boolean }, io: Io): Promise<void> {
  if (readRuntime(config.dataDir) === null) {
    throw new RuntimeFailure(`no edgebus daemon is running for dataDir ${config.dataDir}; start it with \`edgebus start\``);
  }
  const body = await getText(config, '/api/status');
  if (opts.json) {
    io.out(body.endsWith('\n') ? body : body + '\n');
    return;
  }
  io.out(formatStatus(JSON.parse(body) as DaemonStatus));
}

export function formatStatus(s: DaemonStatus): string {
  const lines: string[] = [];
  const row = (label: string, value: string): void => {
    lines.push(`${(label + ':').padEnd(10)}${value}`);
  };
  row('edgebus', `${s.version}  gateway ${s.gatewayId}  ${s.state}  up ${duration(s.uptimeSeconds)}  ${s.clients} client${s.clients === 1 ? '' : 's'}`);
  row('ingest', `${rate(s.ingestRatePerSecond ?? 0)} msgs/s (last minute)${s.stagedEvents ? `, ${s.stagedEvents} staged` : ''}`);
  const stored = s.storeEvents === undefined || s.storeEvents === null ? '' : `${s.storeEvents} events, `;
  row('store', `${stored}last seq ${s.lastSeq}${s.storeBytes === null ? ', unreadable (see /healthz)' : `, ${bytes(s.storeBytes)}`}`);
  const disk = s.disk;
  if (disk) {
    const bound = disk.minFree > 0 ? `store.minFree ${bytes(disk.minFree)}` : 'store.minFree off';
    row('disk', `${bytes(disk.freeBytes)} free, ${bound}${disk.low ? ' — LOW: evicting the oldest events' : ''}`);
  }
  if (s.clock) {
    const last = s.clock.lastChange;
    const change = last === null ? '' : last.kind === 'step'
      ? `, stepped ${last.delta >= 0 ? '+' : '-'}${duration(Math.abs(last.delta) / 1000)} ${duration(last.secondsAgo)} ago`
      : `, ${last.quality} for ${duration(last.secondsAgo)}`;
    row('clock', `${s.clock.wall}  ${s.clock.quality}${change}`);
  }
  const up = s.upstream;
  if (up === null) row('upstream', 'none (store-only)');
  else {
    row('upstream', `${up.url}  ${up.connected ? `connected (MQTT ${up.protocolVersion ?? '?'})` : 'down'}`);
    lines.push(`${''.padEnd(10)}backlog ${up.backlog} events, oldest unsent ${duration(up.oldestUnsentSeconds)}, forwarded ${up.forwarded} in ${up.batches} batches, ${up.retries} retries`);
  }
  row('dlq', `${s.dlqEvents} entr${s.dlqEvents === 1 ? 'y' : 'ies'}`);
  summaryRows(s, row, lines);
  const rules = s.rules;
  if (rules !== null) {
    const alerts = Object.entries(rules.alerts).map(([id, c]) => `${id} ${c.raised} raised/${c.cleared} cleared`);
    row('rules', `${rules.loaded} loaded${rules.issues.length ? `, ${rules.issues.length} with issues (edgebus check)` : ''}${alerts.length ? `; alerts: ${alerts.join(', ')}` : ''}`);
  }
  const devices = s.devices;
  if (devices !== null) {
    const list = devices.devices.map((d) => `${d.id} ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
    row('devices', `${list.length ? list.join(', ') : 'none'}${devices.issues.length ? `; ${devices.issues.length} profile issues` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** Events by type, errors, latencies and sensors (from daemons that report them). */
function summaryRows(s: DaemonStatus, row: (label: string, value: string) => void, lines: string[]): void {
  if (s.events) {
    const seen = Object.entries(s.events.byType).filter(([, c]) => c.total > 0);
    row('events', seen.length ? seen.map(([type, c]) => `${type} ${c.lastMinute}/${c.total}`).join(', ') + ' (last minute/since start)' : 'none yet');
  }
  if (s.errors) {
    const e = s.errors;
    row('errors', `${e.perMinute}/min (rejected ${e.rejected.lastMinute}, store errors ${e.storeErrors.lastMinute}; since start ${e.rejected.total} and ${e.storeErrors.total})`);
  }
  if (s.latency) {
    const l = s.latency;
    const figures = (name: string, f: LatencyFigures): string => {
      const m = f.lastMinute.count > 0 ? f.lastMinute : f.sinceStart;
      return m.count === 0 ? `${name} -` : `${name} p50 ${ms(m.p50Ms)} p99 ${ms(m.p99Ms)}${m === f.lastMinute ? '' : ' (since start)'}`;
    };
    row('latency', [figures('publish→PUBACK', l.ack), figures('reading→alert', l.readingToAlert), figures('forward', l.forward)].join(', '));
  }
  if (s.sensors) {
    const { rows, evicted } = s.sensors;
    row('sensors', `${rows.length}${evicted ? ` (${evicted} dropped to stay under ${s.sensors.limit})` : ''}`);
    for (const r of rows.slice(0, SENSOR_LINES)) {
      lines.push(`${''.padEnd(10)}${r.device}/${r.sensor} = ${r.value === null ? '-' : String(r.value)}${r.unit ? ` ${r.unit}` : ''} at ${r.time}`);
    }
    if (rows.length > SENSOR_LINES) lines.push(`${''.padEnd(10)}… and ${rows.length - SENSOR_LINES} more (status --json, or the dashboard)`);
  }
}

function ms(v: number | null): string {
  if (v === null) return '-';
  return `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return `${m}m ${s % 60}s`;
}

function rate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(2);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
