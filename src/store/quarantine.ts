// Opening the store at start (SPEC §8): a corrupt or unreadable store is moved aside to
// `<dataDir>/corrupt-<time>/` and a fresh one is started, so the gateway keeps taking
// readings; the old directory stays as evidence for manual recovery. A store locked by
// another process is not corrupt: that still fails the start, another daemon is running.
//
// No `ClassicLevel.repair(location)` first: LevelDB's repair keeps whatever records it can
// still parse and silently drops the rest, so a "repaired" store may have lost events that
// were acknowledged (and perhaps not yet forwarded) with nothing to say which, and it rewrites
// the files the evidence is in. Moving the directory aside keeps every byte; an operator can
// run repair on the copy, offline, and replay what it recovers.
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { systemEventDraft } from '../events/system-event.js';
import type { EventDraft } from '../events/types.js';
import type { Logger } from '../util/log.js';
import { EventStore, storeDir } from './event-store.js';

export interface Quarantined {
  /** Where the old store now is. */
  movedTo: string;
  /** Why it could not be opened: the error's code and message. */
  cause: string;
}

export interface OpenedStore {
  store: EventStore;
  /** Set when the store was moved aside and this one is fresh. */
  quarantined: Quarantined | null;
}

export class StoreLockedError extends Error {
  constructor(dir: string, cause: unknown) {
    super(`the event store at ${dir} is locked by another process (LEVEL_LOCKED): is another edgebus running with this dataDir?`, { cause });
    this.name = 'StoreLockedError';
  }
}

type ErrorLike = { code?: unknown; message?: unknown; cause?: unknown; name?: unknown };

function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  for (let e = err as ErrorLike | undefined; e !== null && typeof e === 'object' && out.length < 10; e = e.cause as ErrorLike | undefined) out.push(e);
  return out;
}

const code = (e: ErrorLike): string => (typeof e.code === 'string' ? e.code : '');
const message = (e: ErrorLike): string => (typeof e.message === 'string' ? e.message : '');

export function isLockedError(err: unknown): boolean {
  return chain(err).some((e) => code(e) === 'LEVEL_LOCKED' || /^IO error: lock /.test(message(e)));
}

/** Filesystem errors that mean the store's path or files cannot be read as a store. */
const UNREADABLE_FS = new Set(['EEXIST', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EIO', 'ELOOP']);

/**
 * True when the error says the store itself is damaged or unreadable, anywhere in its cause
 * chain (classic-level wraps open failures in LEVEL_DATABASE_NOT_OPEN with the reason as cause):
 * - LEVEL_CORRUPTION, or a "Corruption:" message (CURRENT, MANIFEST, a table, the WAL);
 * - LEVEL_IO_ERROR / "IO error:" on its files (unreadable, missing table, bad permissions);
 * - a filesystem error on the store path (EEXIST/ENOTDIR: the path is a file; EACCES, EIO…);
 * - StoreCorruptError: an unreadable meta/schema record.
 * Never when locked (another process has it) and never for a full disk (ENOSPC, "No space
 * left"), a newer schema version or an unknown error: moving the store aside fixes none of
 * those, and quarantining a healthy store would hide its events.
 */
export function isCorruptOrUnreadable(err: unknown): boolean {
  const errs = chain(err);
  if (isLockedError(err)) return false;
  if (errs.some((e) => code(e) === 'ENOSPC' || /No space left on device/i.test(message(e)))) return false;
  if (errs.some((e) => e.name === 'StoreVersionError')) return false;
  return errs.some((e) => {
    const c = code(e);
    const m = message(e);
    return c === 'LEVEL_CORRUPTION' || c === 'LEVEL_IO_ERROR' || c === 'EDGEBUS_STORE_CORRUPT' || UNREADABLE_FS.has(c)
      || /^Corruption: /.test(m) || /^IO error: /.test(m);
  });
}

/** `corrupt-2024-05-01T12-30-00.000Z` (no `:`, which some tools and filesystems refuse). */
function quarantineDir(dataDir: string, now: number): string {
  const base = join(dataDir, `corrupt-${new Date(now).toISOString().replace(/:/g, '-')}`);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

function describe(err: unknown): string {
  return chain(err).map((e) => (code(e) && !message(e).startsWith(code(e)) ? `${code(e)}: ${message(e)}` : message(e))).filter(Boolean).join(' <- ');
}

/**
 * Opens the store of `dataDir`; when it is corrupt or unreadable, moves it aside, logs an
 * error and opens a fresh one. The caller appends the SystemEvent once its appender is up
 * (`quarantineDraft`). Throws StoreLockedError when another process holds the store.
 */
export async function openOrQuarantine(dataDir: string, log: Logger, now: () => number = Date.now): Promise<OpenedStore> {
  const dir = storeDir(dataDir);
  try {
    return { store: await EventStore.open(dir), quarantined: null };
  } catch (err) {
    if (isLockedError(err)) throw new StoreLockedError(dir, err);
    if (!isCorruptOrUnreadable(err)) throw err;
    const movedTo = quarantineDir(dataDir, now());
    const cause = describe(err);
    try {
      renameSync(dir, movedTo);
    } catch (renameErr) {
      throw new Error(`the event store at ${dir} is corrupt or unreadable (${cause}) and could not be moved aside to ${movedTo}: ${(renameErr as Error).message}`, { cause: err });
    }
    log.error({ err, store: dir, movedTo, cause }, `event store at ${dir} is corrupt or unreadable (${cause}): moved it to ${movedTo} and started a fresh store; the old one is kept for manual recovery`);
    return { store: await EventStore.open(dir), quarantined: { movedTo, cause } };
  }
}

/** The SystemEvent that records the quarantine in the new log (high: the cloud should know). */
export function quarantineDraft(gatewayId: string, q: Quarantined, now: number): EventDraft {
  return systemEventDraft(gatewayId, { kind: 'store-quarantined', movedTo: q.movedTo, cause: q.cause }, now, 'high');
}
