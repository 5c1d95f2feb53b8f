// The drain's reader (store/log-read-ahead.ts) on a real LevelDB log: every event once, in
// seq order, never past the `last` it is given, events appended after it opened included,
// evicted seqs stepped over, and what the drain hands back read again first.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decodeEvent } from '../../src/events/codec.js';
import { deleteLogThrough } from '../../src/store/log-deletes.js';
import { LogReadAhead, type StoredValueReader } from '../../src/store/log-read-ahead.js';
import type { StoredEvent } from '../../src/store/log-range.js';
import { seqDraft } from '../helpers/drafts.js';
import { openRig, range, type StoreRig } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

async function appendReadings(rig: StoreRig, from: number, to: number): Promise<void> {
  await Promise.all(range(from, to).map((i) => rig.appender.append(seqDraft('dev', i, 1_700_000_000_000 + i))));
}

/** The reader reads values only: each event's seq is the one its bytes carry. */
const STORED: StoredValueReader<StoredEvent> = { item: (bytes) => [decodeEvent(bytes).seq, bytes] as const, seqOf: ([seq]) => seq };

/** Reads until the reader has nothing up to `last`; the chunks as they came. */
async function readUpTo(reader: LogReadAhead<StoredEvent>, last: number): Promise<StoredEvent[][]> {
  const chunks: StoredEvent[][] = [];
  for (;;) {
    const chunk = await reader.next(last);
    if (chunk.length === 0) return chunks;
    chunks.push([...chunk]);
  }
}

const seqs = (chunks: StoredEvent[][]): number[] => chunks.flat().map(([seq]) => seq);

it('reads every event once, in order, in chunks no larger than asked, and never past last', async (t) => {
  const rig = await openRig(tempDirFor(t), { now: 1_700_000_000_000 });
  t.after(() => rig.close());
  await appendReadings(rig, 1, 1200);
  const last = rig.appender.committedSeq;
  assert.ok(last >= 1200);
  const reader = new LogReadAhead(rig.store, 1, 100, STORED);
  t.after(() => reader.close());

  const first = await readUpTo(reader, 250);
  assert.deepEqual(seqs(first), range(1, 250));
  assert.ok(first.every((c) => c.length <= 100));
  const rest = await readUpTo(reader, last);
  assert.deepEqual(seqs(rest), range(251, last));
  for (const chunk of rest) assert.ok(chunk.length <= 100);
});

it('reads on into events appended after it opened, and hands back what the drain did not use first', async (t) => {
  const rig = await openRig(tempDirFor(t), { now: 1_700_000_000_000 });
  t.after(() => rig.close());
  await appendReadings(rig, 1, 300);
  const reader = new LogReadAhead(rig.store, 1, 64, STORED);
  t.after(() => reader.close());
  const head = await reader.next(rig.appender.committedSeq);
  assert.equal(head[0][0], 1);
  reader.unread(head.slice(10));
  const firstPart = seqs(await readUpTo(reader, rig.appender.committedSeq));
  assert.deepEqual(firstPart, range(11, rig.appender.committedSeq));

  const before = rig.appender.committedSeq;
  await appendReadings(rig, 301, 700);
  const later = seqs(await readUpTo(reader, rig.appender.committedSeq));
  assert.deepEqual(later, range(before + 1, rig.appender.committedSeq));
});

it('steps over seqs evicted before it reads them, and a closed reader reads nothing', async (t) => {
  const rig = await openRig(tempDirFor(t), { now: 1_700_000_000_000 });
  t.after(() => rig.close());
  await appendReadings(rig, 1, 500);
  const last = rig.appender.committedSeq;
  await deleteLogThrough(rig.store, 200, 10_000);
  const reader = new LogReadAhead(rig.store, 1, 100, STORED);
  assert.deepEqual(seqs(await readUpTo(reader, last)), range(201, last));
  // Everything up to `last` is read: asking again does not loop over the evicted range.
  assert.deepEqual(await reader.next(last), []);

  const closed = new LogReadAhead(rig.store, 1, 100, STORED);
  closed.close();
  assert.deepEqual(await closed.next(last), []);
});
