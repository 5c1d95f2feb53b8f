// `<dataDir>/daemon.json`: where the running daemon listens, so the CLI can reach it even
// when the config says port 0 or a wildcard host.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RuntimeInfo {
  pid: number;
  startedAt: string;
  http: { host: string; port: number };
  broker: { host: string; port: number };
}

const fileIn = (dataDir: string) => join(dataDir, 'daemon.json');

export function writeRuntime(dataDir: string, info: RuntimeInfo): void {
  writeFileSync(fileIn(dataDir), JSON.stringify(info, null, 2) + '\n');
}

export function removeRuntime(dataDir: string): void {
  rmSync(fileIn(dataDir), { force: true });
}

/** The running daemon's addresses, or null when none is recorded or its process is gone. */
export function readRuntime(dataDir: string): RuntimeInfo | null {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(readFileSync(fileIn(dataDir), 'utf8')) as RuntimeInfo;
  } catch {
    return null;
  }
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return null;
  }
  return info;
}
