// `edgebus passwd` (SPEC §1): read a password and print its scrypt hash for broker.users.
// From stdin when it is piped (the whole input, one trailing newline removed), or from two
// prompts with echo off on a TTY. Only the hash goes to stdout; prompts go to stderr.
// Needs no config file.
import { hashPassword } from '../security/password.js';
import { EXIT_OK, UsageError, type Io } from './args.js';

/** Where the password comes from: process.stdin, or a stand-in in tests. */
export interface PasswdInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

export interface PasswdOptions {
  /** Defaults to process.stdin. */
  input?: PasswdInput;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);
const ESC = '\u001b';

/** The whole of a piped stdin. */
async function readAll(input: PasswdInput): Promise<string> {
  let text = '';
  input.setEncoding('utf8');
  for await (const chunk of input) text += chunk as string;
  return text;
}

/** Lines typed on a TTY with echo off; raw mode stays on until close(). */
interface HiddenReader {
  line(prompt: string): Promise<string>;
  close(): void;
}

/**
 * Enter (or Ctrl-D) ends a line, backspace deletes the last character, Ctrl-C aborts,
 * escape sequences (arrow keys) are dropped. Input typed ahead (or pasted) waits for the
 * next line.
 */
function hiddenReader(input: PasswdInput, io: Io): HiddenReader {
  let pending = '';
  let ended = false;
  let wake: (() => void) | null = null;
  const onData = (chunk: Buffer | string): void => {
    pending += chunk.toString();
    wake?.();
  };
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };
  input.setRawMode?.(true);
  input.setEncoding('utf8');
  input.on('data', onData);
  input.on('end', onEnd);
  input.resume();

  /** Takes one line from `pending`: the line, 'interrupt', or null when it is not complete. */
  const takeLine = (): string | typeof CTRL_C | null => {
    let chars: string[] = [];
    let inEscape = false;
    let i = 0;
    for (const ch of pending) {
      i += ch.length;
      if (inEscape) {
        // CSI: ESC [ digits;… final; SS3: ESC O x; otherwise one character (Alt+x).
        if (ch === '[' || ch === 'O' || /[0-9;]/.test(ch)) continue;
        inEscape = false;
        continue;
      }
      if (ch === CTRL_C) return CTRL_C;
      if (ch === '\r' || ch === '\n' || ch === CTRL_D) {
        // A CRLF counts as one Enter.
        if (ch === '\r' && pending[i] === '\n') i++;
        pending = pending.slice(i);
        return chars.join('');
      }
      if (BACKSPACE.has(ch)) chars = chars.slice(0, -1);
      else if (ch === ESC) inEscape = true;
      else if (ch >= ' ') chars.push(ch);
    }
    if (!ended) return null;
    pending = '';
    return chars.join('');
  };

  return {
    async line(prompt) {
      io.err(prompt);
      try {
        for (;;) {
          const got = takeLine();
          if (got === CTRL_C) throw new UsageError('interrupted');
          if (got !== null) return got;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } finally {
        io.err('\n'); // echo is off: Enter did not move the cursor
      }
    },
    close() {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
    },
  };
}

async function readPassword(input: PasswdInput, io: Io): Promise<string> {
  if (!input.isTTY) {
    const password = (await readAll(input)).replace(/\r?\n$/, '');
    if (password === '') throw new UsageError('empty password');
    return password;
  }
  const reader = hiddenReader(input, io);
  try {
    const first = await reader.line('Password: ');
    if (first === '') throw new UsageError('empty password');
    const again = await reader.line('Again: ');
    if (first !== again) throw new UsageError('the passwords differ');
    return first;
  } finally {
    reader.close();
  }
}

export async function runPasswd(io: Io, opts: PasswdOptions = {}): Promise<number> {
  const password = await readPassword(opts.input ?? process.stdin, io);
  io.out(`${await hashPassword(password)}\n`);
  return EXIT_OK;
}
