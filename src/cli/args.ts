// Shared CLI plumbing: exit codes (SPEC §1) and the errors that map to them.

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_RUNTIME = 2;

/** A mistake of the user's (bad flag, bad config): exit 1 with this message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the user can act on (daemon not running, upstream down): exit 2, no stack trace. */
export class RuntimeFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeFailure';
  }
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};
