// A desired-state document whose files are in place but which needs the daemon restarted
// to take (device profiles, routes, config keys are read at start). What the restart must
// confirm — and what to put back if it does not — is kept in dataDir, because the daemon
// that swapped the files is not the one that sees whether they work.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restoreFiles } from './managed-files.js';

export interface PendingApply {
  version: string | number;
  hash: string;
  backtest: Record<string, number>;
  /** Ids of the document's rules, which the restarted daemon must have loaded. */
  ruleIds: string[];
  /** Managed file name → sha256 of what was written, per kind. */
  rules: Record<string, string>;
  devices: Record<string, string>;
  /** sha256 of the overlay written, null: none; absent in files of earlier versions. */
  overlay?: string | null;
  /** Per folder, each file's text before the swap (null: it did not exist). */
  previous: { dir: string; files: Record<string, string | null> }[];
  /** Set once the previous files are back: the restart failed for this reason. */
  failure?: string;
}

const PENDING_FILE = 'desired-pending.json';

export function readPending(dataDir: string): PendingApply | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, PENDING_FILE), 'utf8')) as PendingApply;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function writePending(dataDir: string, pending: PendingApply): void {
  const file = join(dataDir, PENDING_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(pending), { flush: true });
  renameSync(`${file}.tmp`, file);
}

export function clearPending(dataDir: string): void {
  rmSync(join(dataDir, PENDING_FILE), { force: true });
}

/**
 * Puts back the files a pending document replaced and records why, for the next start to
 * report `rolled-back`. False when there was nothing pending, or it was already rolled back.
 */
export function rollBackPending(dataDir: string, failure: string): boolean {
  const pending = readPending(dataDir);
  if (!pending || pending.failure !== undefined) return false;
  for (const { dir, files } of pending.previous) restoreFiles(dir, new Map(Object.entries(files)));
  writePending(dataDir, { ...pending, failure });
  return true;
}
