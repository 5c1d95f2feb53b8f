// `edgebus sink` as its own process, as it runs in the cloud: started from a config file,
// ready once its /healthz answers 200 (broker connected), killable with SIGKILL mid-stream.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { getMetrics, metricValue } from './api.js';
import { BIN } from './paths.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface SinkProcess {
  readonly clientId: string;
  readonly httpUrl: string;
  /** What it printed (stdout and stderr), for failure messages and dry-run lines. */
  output(): string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM, waiting for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, waiting for the exit. */
  kill9(): Promise<void>;
  /** Starts it again with the same config (and so the same client id and port). */
  restart(): Promise<void>;
}

export interface SinkOptions {
  brokerUrl: string;
  postgresUrl: string;
  clientId: string;
  table?: string;
  dryRun?: boolean;
  /** More `sink:` keys (retry, group, topic …). */
  extra?: Record<string, unknown>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/** Writes `<dir>/<clientId>.yaml` and starts the sink on it. */
export async function startSink(dir: string, opts: SinkOptions): Promise<SinkProcess> {
  const port = await freePort();
  const file = join(dir, `${opts.clientId}.yaml`);
  writeFileSync(file, stringify({
    log: { level: 'info', format: 'json' },
    sink: {
      url: opts.brokerUrl, clientId: opts.clientId, postgres: { url: opts.postgresUrl }, table: opts.table ?? 'edgebus_events',
      retry: { initialDelay: '50ms', maxDelay: '500ms' }, http: { port }, ...opts.extra,
    },
  }));
  const httpUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let exited: Promise<void>;
  let out = '';
  const launch = async (): Promise<void> => {
    child = spawn(process.execPath, [BIN, 'sink', '--config', file, ...(opts.dryRun ? ['--dry-run'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    exited = new Promise((resolve) => child.once('exit', () => { children.delete(child); resolve(); }));
    child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    if (opts.dryRun) {
      await waitFor(() => out.includes('dry run'), { message: `dry run started: ${out}` });
      return;
    }
    await waitFor(async () => (await fetch(`${httpUrl}/healthz`).catch(() => null))?.status === 200, { timeout: 15_000, message: `sink ${opts.clientId} healthy: ${out}` });
  };
  await launch();
  const signal = async (s: NodeJS.Signals): Promise<void> => {
    child.kill(s);
    await exited;
  };
  return {
    clientId: opts.clientId, httpUrl,
    output: () => out,
    metric: async (name, labels) => metricValue(await getMetrics(httpUrl), name, labels) ?? 0,
    stop: () => signal('SIGTERM'),
    kill9: () => signal('SIGKILL'),
    restart: launch,
  };
}
