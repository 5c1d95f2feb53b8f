// `edgebus replay --from … --to upstream|rules` (SPEC §1): stored events re-sent upstream
// (up to what upstream has acknowledged; the rest is on its way anyway), or run again
// through the loaded rules (a fresh engine: alerts decided before keep their ids and are
// dropped, new ones are stored and delivered; `checkpoint` is the log's end there).
// `checkpoint:NAME` names a stored checkpoint or the forwarder's cursor, for either target.
import { parseReplayFrom, ReplayArgumentError, replayStart } from '../store/replay-from.js';
import { gatewayCursors } from './checkpoints.js';
import type { Gateway } from './gateway.js';

/** @param warn told when the replay starts elsewhere than asked (a checkpoint older than the log) */
export async function replay(g: Gateway, fromText: string, to: string, progress: (sent: number) => void, warn: (message: string) => void = () => {}): Promise<number> {
  const from = parseReplayFrom(fromText);
  if (to !== 'upstream' && to !== 'rules') throw new ReplayArgumentError(`--to: expected upstream or rules, got ${JSON.stringify(to)}`);
  const { appender, store, log } = g;
  if (to === 'rules') {
    const rules = g.rules;
    if (rules === null) throw new Error('the rules are not running yet');
    const through = appender.committedSeq;
    const start = await replayStart(store, from, { checkpoint: through, timeline: appender.timeline, cursors: await gatewayCursors(g), warn });
    if (start > through) return 0;
    log.info({ from: fromText, fromSeq: start, toSeq: through }, 'replaying stored events through the rules');
    return rules.replay(start, through, progress);
  }
  const up = g.upstream;
  if (up === null) throw new ReplayArgumentError('--to upstream: no upstream is configured');
  const through = up.forwarder.acknowledgedThrough;
  const start = await replayStart(store, from, { checkpoint: through, timeline: appender.timeline, cursors: await gatewayCursors(g), warn });
  if (start > through) return 0;
  log.info({ from: fromText, fromSeq: start, toSeq: through }, 'replaying stored events upstream');
  return up.forwarder.resender.replay(start, through, progress);
}
