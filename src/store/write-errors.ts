// Why a store write (or the reopen after one) failed, in words an operator can act on:
// `/healthz` answers with it while publishes are refused. LevelDB reports a failed system
// call as `IO error: <file>: <strerror>`, sometimes under abstract-level's own error
// ("Database failed to open"), so the whole cause chain is searched.

const KNOWN: [RegExp, string][] = [
  [/No space left on device/i, 'no space left on device (ENOSPC)'],
  [/Disk quota exceeded/i, 'disk quota exceeded (EDQUOT)'],
  [/File too large/i, 'file too large (EFBIG)'],
  [/Read-only file system/i, 'read-only file system (EROFS)'],
  [/Input\/output error/i, 'I/O error on the storage device (EIO)'],
  [/Too many open files/i, 'too many open files (EMFILE)'],
];

export function storeErrorReason(err: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    messages.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  for (const [pattern, reason] of KNOWN) if (messages.some((m) => pattern.test(m))) return reason;
  // The innermost message is the one closest to the system call.
  return messages.length ? messages[messages.length - 1] : 'unknown store error';
}
