// Fixed-width keys, so LevelDB's byte order is numeric order ('10' would sort before '2').

const SEQ_WIDTH = 16; // up to 9.9e15: Number.MAX_SAFE_INTEGER fits

export function seqKey(seq: number): string {
  return seq.toString().padStart(SEQ_WIDTH, '0');
}

export function parseSeqKey(key: string): number {
  return Number(key);
}

/** Separates a free-form name (source, id) from what follows; MQTT strings cannot hold U+0000. */
export const SEP = '\x00';
/** Sorts after SEP: the exclusive upper bound of every key under a name. */
export const SEP_END = '\x01';

/** A stream segment: the seqs one commit appended for one source, from this version on. */
export function streamKey(source: string, firstVersion: number): string {
  return source + SEP + seqKey(firstVersion);
}

export function pendingKey(source: string, epoch: number, deviceSeq: number): string {
  return source + SEP + seqKey(epoch) + SEP + seqKey(deviceSeq);
}

export function timeKey(ms: number): string {
  return seqKey(ms);
}

/**
 * A correlation index entry: correlation id NUL seq key. A correlation id comes from a
 * JSON payload and may itself hold NUL; only a key exactly SEP plus one seq key longer than
 * the id belongs to it (see correlationSeq), so "a" never reads "a\0b"'s entries.
 */
export function correlationKey(correlationId: string, seq: string): string {
  return correlationId + SEP + seq;
}

/** The seq of an entry under `correlationId` (a key read between its bounds), or null when it is another id's. */
export function correlationSeq(correlationId: string, key: string): number | null {
  return key.length === correlationId.length + 1 + SEQ_WIDTH ? parseSeqKey(key.slice(correlationId.length + 1)) : null;
}
