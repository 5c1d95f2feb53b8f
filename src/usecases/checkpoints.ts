// `checkpoint list|set|rm` against the running daemon (the CLI uses the store directly when
// it is stopped): the named checkpoints, and the forwarder's cursor as it stands now.
import { setCheckpoint } from '../store/checkpoint-at.js';
import { checkpointViews, deleteCheckpoint, type CheckpointView, type CursorCheckpoint } from '../store/checkpoints.js';
import { readCursor } from '../upstream/cursor.js';
import { cursorCheckpoints } from '../upstream/cursor-checkpoints.js';
import type { Gateway } from './gateway.js';

/** The live cursor once the forwarder runs (the saved one lags it by up to a save interval). */
export async function gatewayCursors(g: Gateway): Promise<CursorCheckpoint[]> {
  return cursorCheckpoints(g.config, g.upstream?.forwarder.acknowledgedThrough ?? (await readCursor(g.store)));
}

export async function listCheckpoints(g: Gateway): Promise<CheckpointView[]> {
  return checkpointViews(g.store, await gatewayCursors(g));
}

export async function putCheckpoint(g: Gateway, name: string, at: string): Promise<CheckpointView> {
  await setCheckpoint(g.store, name, at, g.appender.committedSeq, g.appender.timeline);
  return (await checkpointViews(g.store, [])).find((v) => v.name === name)!;
}

export async function removeCheckpoint(g: Gateway, name: string): Promise<void> {
  await deleteCheckpoint(g.store, name);
}
