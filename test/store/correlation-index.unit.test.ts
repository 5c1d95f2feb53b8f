// The correlation index's key layout and the writes one correlated event makes: the keys
// of one chain sort in log order, an id holding NUL never reads another id's entries, and
// an event's entry and its way back go into the batch that stores it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorrelationIndex } from '../../src/store/correlation-index.js';
import { correlationKey, correlationSeq, SEP, SEP_END, seqKey } from '../../src/store/keys.js';
import type { WriteBatch } from '../../src/store/write-batch.js';

/** A batch that records what was put into it, in order (the store is not needed to see the keys). */
class RecordingBatch implements WriteBatch {
  readonly ops: [string, string | Uint8Array | null][] = [];
  get length(): number {
    return this.ops.length;
  }
  put(key: string, value: string | Uint8Array): void {
    this.ops.push([key, value]);
  }
  del(key: string): void {
    this.ops.push([key, null]);
  }
  write(): Promise<void> {
    return Promise.reject(new Error('not written in a unit test'));
  }
  clear(): void {
    this.ops.length = 0;
  }
}

/** Keys under `id`'s bounds (what the index's iterator would visit), in byte order. */
function between(id: string, keys: string[]): string[] {
  const lo = Buffer.from(id + SEP);
  const hi = Buffer.from(id + SEP_END);
  return keys.filter((k) => Buffer.compare(Buffer.from(k), lo) >= 0 && Buffer.compare(Buffer.from(k), hi) < 0)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

describe('correlation index keys', () => {
  it('sort one chain in seq order, whatever the number of digits', () => {
    const seqs = [2, 10, 9, 100_000, 1, 99];
    const keys = seqs.map((s) => correlationKey('corr-A', seqKey(s)));
    assert.deepEqual(between('corr-A', keys).map((k) => correlationSeq('corr-A', k)), [1, 2, 9, 10, 99, 100_000]);
  });

  it('read back the seq of their own id only', () => {
    assert.equal(correlationSeq('corr-A', correlationKey('corr-A', seqKey(42))), 42);
    assert.equal(correlationSeq('corr-A', correlationKey('corr-AB', seqKey(42))), null);
  });

  it('keep an id that holds NUL apart from the id it starts with', () => {
    // JSON payloads may carry "\u0000": "a\0b"'s keys fall inside "a"'s bounds.
    const keys = [
      correlationKey('a', seqKey(5)),
      correlationKey('a\0b', seqKey(3)),
      correlationKey('a\0' + seqKey(7), seqKey(1)),
      correlationKey('a', seqKey(8)),
    ];
    const visited = between('a', keys);
    assert.equal(visited.length, 4, 'all four sort under "a"');
    assert.deepEqual(visited.map((k) => correlationSeq('a', k)).filter((s) => s !== null), [5, 8]);
    assert.deepEqual(between('a\0b', keys).map((k) => correlationSeq('a\0b', k)), [3]);
  });
});

describe('CorrelationIndex.put', () => {
  it('writes the chain entry and the way back from the seq, into the given batch', () => {
    const batch = new RecordingBatch();
    const index = new CorrelationIndex('!corr!', '!corrseqs!');
    index.put(batch, 'corr-A', seqKey(17));
    index.put(batch, 'corr-B', seqKey(18));
    assert.deepEqual(batch.ops, [
      ['!corr!corr-A\x000000000000000017', ''],
      ['!corrseqs!0000000000000017', 'corr-A'],
      ['!corr!corr-B\x000000000000000018', ''],
      ['!corrseqs!0000000000000018', 'corr-B'],
    ]);
  });
});
