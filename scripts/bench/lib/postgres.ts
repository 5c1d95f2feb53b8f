// A PostgreSQL of the benchmark's own, as the sink tests start one (test/helpers/postgres.ts;
// benches import nothing from test/): Debian's server initdb'd into a temp dir and run by
// pg_ctl on a free loopback port. initdb refuses root, so as root it runs as `postgres`.
// fsync and synchronous_commit are off: the sink and its ceiling are compared on the same
// server, and a shared VM's disk would otherwise measure only itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './children.js';
import { freePort } from './ports.js';

export interface BenchPostgres {
  /** Superuser `edgebus` (trust auth), database `postgres`. */
  url: string;
  /**
   * CPU seconds the server has used so far: the postmaster, its live backends and the
   * backends that have exited (the kernel adds those to the postmaster's children's time).
   */
  cpuSeconds(): number;
  /** Writes a file the server itself can read (for a server-side COPY … FROM); returns its path. */
  serverFile(name: string, text: string): string;
  /** Immediate shutdown and the directory removed. */
  destroy(): void;
}

function binDir(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return join(onPath, '..');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql): the sink benchmark needs a real server');
  return join(root, versions[0], 'bin');
}

export async function startPostgres(): Promise<BenchPostgres> {
  const bin = binDir();
  const dir = makeTempDir('edgebus-bench-pg-');
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
    chmodSync(dir, 0o700);
  }
  const run = (cmd: string, args: string[]): void => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8' });
    if (r.status !== 0) {
      const log = existsSync(logFile) ? `\nserver log:\n${readFileSync(logFile, 'utf8').slice(-4000)}` : '';
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}${log}`);
    }
  };
  run('initdb', ['-D', data, '-U', 'edgebus', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', options, 'start']);
  let gone = false;
  const destroy = (): void => {
    if (gone) return;
    gone = true;
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      removeTempDir(dir);
    }
  };
  // An error or Ctrl-C halfway must not leave a postmaster behind; first, before children.ts
  // sweeps the temp dirs (pg_ctl needs the data dir to find the server).
  process.prependOnceListener('exit', () => { if (!gone) spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']); });
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  const serverFile = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o644 });
    return file;
  };
  return { url: `postgresql://edgebus@127.0.0.1:${port}/postgres`, destroy, serverFile, cpuSeconds: () => treeCpuSeconds(postmaster) };
}

/** USER_HZ, as children.ts counts it. */
const CLOCK_TICKS = 100;

/** /proc/<pid>/stat fields after the command name: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime. */
function statFields(pid: string | number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

function treeCpuSeconds(root: number): number {
  const own = statFields(root);
  if (own === null) return 0;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f !== null && Number(f[1]) === root) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLOCK_TICKS;
}
