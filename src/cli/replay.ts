// `edgebus replay --from checkpoint[:NAME]|seq:N|time:ISO|id:EVENT_ID|all --to upstream|rules`:
// re-sends stored events (recovery), through the running daemon, with a progress bar on a TTY.
import type { Config } from '../config/types.js';
import { REPLAY_FROM_FORMS } from '../store/replay-from.js';
import { RuntimeFailure, UsageError, type Io } from './args.js';
import { progress } from './progress.js';
import { postLines, requireDaemon } from './store-access.js';

export async function runReplay(config: Config, opts: { from?: string; to?: string }, io: Io): Promise<void> {
  if (opts.from === undefined) throw new UsageError(`replay: --from is required (${REPLAY_FROM_FORMS})`);
  const to = opts.to ?? 'upstream';
  if (to !== 'upstream' && to !== 'rules') throw new UsageError(`replay: --to expected upstream or rules, got ${JSON.stringify(to)}`);
  requireDaemon(config, 'replay');
  const bar = progress(`replay to ${to}`);
  let sent = 0;
  let done = false;
  for await (const line of postLines(config, '/api/replay', { from: opts.from, to })) {
    const msg = JSON.parse(line) as { sent?: number; done?: boolean; error?: string; badRequest?: boolean; warning?: string };
    if (msg.warning !== undefined) io.err(`edgebus: warning: ${msg.warning}\n`);
    if (msg.error !== undefined) {
      bar.done();
      throw msg.badRequest ? new UsageError(`replay: ${msg.error}`) : new RuntimeFailure(`replay stopped after ${sent} events: ${msg.error}`);
    }
    if (msg.sent !== undefined) {
      bar.tick(msg.sent - sent);
      sent = msg.sent;
    }
    if (msg.done) done = true;
  }
  bar.done();
  if (!done) throw new RuntimeFailure(`replay: the daemon closed the connection after ${sent} events`);
  io.out(`replayed ${sent} events to ${to}\n`);
}
