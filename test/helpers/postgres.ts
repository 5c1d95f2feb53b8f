// A PostgreSQL of the test file's own: Debian's server, initdb'd into a temp dir and run by
// pg_ctl on a free port (TCP on loopback, its unix socket in the temp dir), fsync off. initdb
// refuses root, so as root the server runs as the package's `postgres` user, the dir theirs.
// One per test file: start it in `before`, stop() in `after`; stop()/start() again for outages.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

export interface Postgres {
  port: number;
  /** Superuser `edgebus` (trust auth), database `postgres`. */
  url: string;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Fast shutdown (clients disconnected); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return join(onPath, '..');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: .ci/run installs the postgresql package');
  return join(root, versions[0], 'bin');
}

const servers = new Set<() => void>();
// A test that dies mid-way must not leave a postmaster behind.
process.on('exit', () => { for (const kill of servers) kill(); });

export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'edgebus-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
    chmodSync(dir, 0o700);
  }
  const run = (cmd: string, args: string[]): void => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}${logTail()}`);
  };
  const logFile = join(dir, 'server.log');
  const logTail = (): string => (existsSync(logFile) ? `\nserver log:\n${readFileSync(logFile, 'utf8').slice(-4000)}` : '');
  run('initdb', ['-D', data, '-U', 'edgebus', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = async (): Promise<void> => run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', options, 'start']);
  const stop = async (): Promise<void> => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  const kill = (): void => { spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']); };
  await start();
  servers.add(kill);
  const url = `postgresql://edgebus@127.0.0.1:${port}/postgres`;
  return {
    port, url, start, stop,
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<R>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async destroy() {
      servers.delete(kill);
      kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
