// The conformance suite of WriteBatch, after abstract-level's test suite and
// aedes-persistence's abstract.js: what the appender, the clock record and the store's
// deletes rely on, against a real LevelDB on disk. Each implementation runs all of it
// (write-batch.int.test.ts); a new one, or a store port, is proven by passing it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { WriteBatch } from '../../src/store/write-batch.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

/** A store as the suite sees it: batches of the implementation under test, and reads that bypass them. */
export interface BatchStore {
  /** A new batch of the implementation under test. */
  batch(): WriteBatch;
  /** Key prefixes of three sublevels: one commit spans several. */
  readonly prefixes: readonly [string, string, string];
  /** The bytes stored under `key` (prefix included), or undefined. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Every key under the prefixes with its bytes, from one consistent view (a snapshot). */
  scan(): Promise<Map<string, Uint8Array>>;
  /** Closes the handle and leaves it closed, as a reopen that failed on a full disk does; batches stay. */
  closeHandle(): Promise<void>;
  /** Opens the handle again after closeHandle(). */
  reopen(): Promise<void>;
  /** Closes for good. */
  close(): Promise<void>;
}

export interface WriteBatchSubject {
  /** In test titles, and the crash fixture's name for it (write-batch.subjects.ts). */
  readonly name: string;
  /** Opens (or creates) the store in `dir`. */
  open(dir: string): Promise<BatchStore>;
}

const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'));

/** A store in a fresh directory (closed and removed when the test ends), a batch on it, and its three prefixes. */
async function openFor(t: TestContext, subject: WriteBatchSubject): Promise<{ store: BatchStore; batch: WriteBatch; a: string; b: string; c: string }> {
  const tmp = tempDir('edgebus-batch-');
  const store = await subject.open(tmp.dir);
  t.after(async () => {
    await store.close();
    tmp.cleanup();
  });
  const [a, b, c] = store.prefixes;
  return { store, batch: store.batch(), a, b, c };
}

/** Runs the crash fixture on `dir` until it has reported `generations` writes, then SIGKILLs it: the generations it reported. */
async function writeUntilKilled(subject: WriteBatchSubject, dir: string, sync: boolean, generations: number): Promise<number[]> {
  const fixture = join(ROOT, 'dist', 'test', 'store', 'fixtures', 'batch-writer.js');
  const child = spawn(process.execPath, [fixture, subject.name, dir, String(sync)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': the last lines written before the kill may still be in the pipe.
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length > generations) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`the batch writer exited before it was killed:\n${err}`)));
  });
  assert.equal(await exited, 'SIGKILL');
  return out.split('\n').filter(Boolean).map(Number);
}

export function writeBatchSuite(subject: WriteBatchSubject): void {
  describe(`WriteBatch conformance: ${subject.name}`, () => {
    test('nothing is stored before write; after it every put is, in every sublevel', async (t) => {
      const { store, batch, a, b, c } = await openFor(t, subject);
      batch.put(a + '1', 'one');
      batch.put(b + '1', Uint8Array.of(1, 2, 3));
      batch.put(c + '1', '');
      assert.equal(await store.read(a + '1'), undefined, 'a put is not stored before write');
      await batch.write(true);
      assert.equal(text(await store.read(a + '1')), 'one');
      assert.deepEqual(await store.read(b + '1'), Uint8Array.of(1, 2, 3));
      assert.equal(text(await store.read(c + '1')), '', 'an empty value is a value');
    });

    test('del removes a key, a missing key too; the last operation on a key wins', async (t) => {
      const { store, batch, a } = await openFor(t, subject);
      for (const k of ['x', 'y', 'z']) batch.put(a + k, 'old');
      await batch.write(true);
      batch.del(a + 'x');
      batch.del(a + 'never-there');
      batch.del(a + 'y');
      batch.put(a + 'y', 'put after del');
      batch.put(a + 'z', 'put before del');
      batch.del(a + 'z');
      await batch.write(true);
      assert.equal(await store.read(a + 'x'), undefined);
      assert.equal(await store.read(a + 'never-there'), undefined);
      assert.equal(text(await store.read(a + 'y')), 'put after del');
      assert.equal(await store.read(a + 'z'), undefined);
    });

    test('length counts puts and dels since the last write; write and clear reset it', async (t) => {
      const { batch, a } = await openFor(t, subject);
      assert.equal(batch.length, 0);
      batch.put(a + '1', 'v');
      batch.put(a + '1', 'v again');
      batch.del(a + '2');
      assert.equal(batch.length, 3, 'every operation counts, repeats too');
      // Not read while the write is in flight: a batch is left alone until its write settles
      // (the appender fills its other batch meanwhile).
      await batch.write(false);
      assert.equal(batch.length, 0);
      batch.put(a + '3', 'v');
      batch.clear();
      assert.equal(batch.length, 0);
    });

    test('clear drops what was added since the last write; what follows is written', async (t) => {
      const { store, batch, a } = await openFor(t, subject);
      batch.put(a + 'kept', 'v');
      await batch.write(true);
      batch.put(a + 'dropped', 'v');
      batch.del(a + 'kept');
      batch.clear();
      batch.put(a + 'after', 'v');
      await batch.write(true);
      assert.equal(await store.read(a + 'dropped'), undefined);
      assert.equal(text(await store.read(a + 'kept')), 'v', 'the cleared del did not run');
      assert.equal(text(await store.read(a + 'after')), 'v');
    });

    test('an empty write resolves and changes nothing', async (t) => {
      const { store, batch, a } = await openFor(t, subject);
      const before = await store.scan();
      await batch.write(true);
      await batch.write(false);
      batch.put(a + 'x', 'v');
      batch.clear();
      await batch.write(true);
      assert.deepEqual(await store.scan(), before);
    });

    test('reused across many writes, each write carries only its own operations', async (t) => {
      // The appender keeps two batches for the life of the store and writes each again and
      // again: a write that replayed an earlier group would undo what was written since.
      const { store, batch, a, b } = await openFor(t, subject);
      const other = store.batch();
      const key = (round: number) => a + String(round).padStart(3, '0');
      for (let round = 1; round <= 60; round++) {
        batch.put(key(round), `round ${round}`);
        batch.put(b + 'latest', String(round));
        await batch.write(round % 2 === 0);
        assert.equal(text(await store.read(b + 'latest')), String(round));
        assert.deepEqual([...(await store.scan()).keys()].filter((k) => k.startsWith(a)), [key(round)], `round ${round}: this round's key alone`);
        // What this batch wrote, changed by another: no later write of this batch may bring it back.
        other.del(key(round));
        other.put(b + 'latest', `changed after ${round}`);
        await other.write(false);
      }
      const all = await store.scan();
      assert.deepEqual([...all.keys()].filter((k) => k.startsWith(a)), []);
      assert.equal(text(all.get(b + 'latest')), 'changed after 60');
    });

    test('two batches take turns: one is filled while the other is being written', async (t) => {
      const { store, a } = await openFor(t, subject);
      const [one, two] = [store.batch(), store.batch()];
      for (let i = 0; i < 20; i++) {
        const [writing, filling] = i % 2 === 0 ? [one, two] : [two, one];
        writing.put(a + 'w' + i, String(i));
        const inFlight = writing.write(false);
        filling.put(a + 'w' + (i + 1), 'filled while the other wrote');
        assert.equal(filling.length, 1);
        await inFlight;
        assert.equal(await store.read(a + 'w' + (i + 1)), undefined, 'still only in the batch');
        filling.clear();
      }
      for (let i = 0; i < 20; i++) assert.equal(text(await store.read(a + 'w' + i)), String(i));
    });

    test('values are copied at put: the caller may reuse its buffer at once', async (t) => {
      // The appender encodes every event into one buffer and hands the batch views of it
      // (CborWriter.since), then resets the buffer for the next event.
      const { store, batch, a } = await openFor(t, subject);
      const buffer = Buffer.alloc(64, 0x61);
      buffer.write('first', 8);
      batch.put(a + 'view', new Uint8Array(buffer.buffer, buffer.byteOffset + 8, 5));
      buffer.fill(0x7a);
      buffer.write('other', 8);
      batch.put(a + 'next', new Uint8Array(buffer.buffer, buffer.byteOffset + 8, 5));
      buffer.fill(0);
      await batch.write(true);
      assert.equal(text(await store.read(a + 'view')), 'first');
      assert.equal(text(await store.read(a + 'next')), 'other');
    });

    test('bytes come back byte for byte, strings as UTF-8, keys with NUL and non-ASCII alike', async (t) => {
      const { store, batch, a } = await openFor(t, subject);
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const large = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
      batch.put(a + 'every-byte', every);
      batch.put(a + 'empty-bytes', new Uint8Array(0));
      batch.put(a + 'large', large);
      batch.put(a + 'not-utf8', Uint8Array.of(0xed, 0xa0, 0x80, 0xff, 0xfe));
      batch.put(a + 'text', 'é 😀 a\u0000b');
      // Stream and pending keys separate a source from its seq with U+0000 (store/keys.ts).
      batch.put(a + 'source\u0000' + '0'.repeat(16), 'nul in the key');
      batch.put(a + 'capteur-é', 'non-ASCII key');
      await batch.write(true);
      assert.deepEqual(await store.read(a + 'every-byte'), every);
      assert.deepEqual(await store.read(a + 'empty-bytes'), new Uint8Array(0));
      assert.deepEqual(await store.read(a + 'large'), large);
      assert.deepEqual(await store.read(a + 'not-utf8'), Uint8Array.of(0xed, 0xa0, 0x80, 0xff, 0xfe));
      assert.deepEqual(await store.read(a + 'text'), new Uint8Array(Buffer.from('é 😀 a\u0000b', 'utf8')));
      assert.equal(text(await store.read(a + 'source\u0000' + '0'.repeat(16))), 'nul in the key');
      assert.equal(await store.read(a + 'source'), undefined, 'the key is not cut at the NUL');
      assert.equal(text(await store.read(a + 'capteur-é')), 'non-ASCII key');
    });

    test('sync and non-sync writes are both stored when they resolve, and kept across a reopen', async (t) => {
      const { store, batch, a } = await openFor(t, subject);
      batch.put(a + 'synced', 'fsync');
      await batch.write(true);
      batch.put(a + 'unsynced', 'os cache');
      await batch.write(false);
      assert.equal(text(await store.read(a + 'synced')), 'fsync');
      assert.equal(text(await store.read(a + 'unsynced')), 'os cache');
      await store.closeHandle();
      await store.reopen();
      assert.equal(text(await store.read(a + 'synced')), 'fsync');
      assert.equal(text(await store.read(a + 'unsynced')), 'os cache');
    });

    test('a write on a closed store is refused and stores nothing; after a reopen the same batch writes', async (t) => {
      // A reopen on a full disk can fail and leave the handle closed while the prune job and
      // the appender still hold their batches (EventStore.reopen, write-errors.ts).
      const { store, batch, a, b } = await openFor(t, subject);
      batch.put(a + 'before-close', 'v');
      await store.closeHandle();
      batch.put(a + 'while-closed', 'v');
      batch.del(b + 'anything');
      assert.equal(batch.length, 3, 'filling a batch does not touch the store');
      await assert.rejects(batch.write(true), { code: 'LEVEL_DATABASE_NOT_OPEN' });
      assert.equal(batch.length, 0, 'the refused batch is emptied like a failed one');
      batch.clear();
      const madeWhileClosed = store.batch();
      madeWhileClosed.put(a + 'made-while-closed', 'v');
      await assert.rejects(madeWhileClosed.write(false), { code: 'LEVEL_DATABASE_NOT_OPEN' });

      await store.reopen();
      for (const k of ['before-close', 'while-closed', 'made-while-closed']) assert.equal(await store.read(a + k), undefined, `${k} was refused`);
      batch.put(a + 'after-reopen', 'v');
      await batch.write(true);
      madeWhileClosed.put(a + 'made-while-closed', 'v');
      await madeWhileClosed.write(true);
      assert.equal(text(await store.read(a + 'after-reopen')), 'v');
      assert.equal(text(await store.read(a + 'made-while-closed')), 'v');
      assert.equal(await store.read(a + 'before-close'), undefined, 'a refused operation is not replayed');
    });

    test('atomic for readers: a snapshot holds all of a write or none of it', async (t) => {
      const { store, batch, c } = await openFor(t, subject);
      const keys = store.prefixes.flatMap((p) => Array.from({ length: 40 }, (_, i) => `${p}k${String(i).padStart(2, '0')}`));
      const marker = (g: number) => `${c}marker-${g}`;
      const GENERATIONS = 40;
      let done = false;
      const writer = (async () => {
        for (let g = 1; g <= GENERATIONS; g++) {
          for (const k of keys) batch.put(k, String(g));
          batch.put(marker(g), String(g));
          batch.del(marker(g - 1));
          await batch.write(false);
        }
        done = true;
      })();
      let views = 0;
      while (!done) {
        const view = await store.scan();
        views++;
        const values = keys.map((k) => text(view.get(k)));
        const seen = new Set(values);
        assert.ok(seen.size === 1, `one snapshot holds several generations: ${[...seen].join(', ')}`);
        const [gen] = seen;
        const markers = [...view.keys()].filter((k) => k.startsWith(`${c}marker-`));
        if (gen === undefined) assert.deepEqual(markers, []);
        else assert.deepEqual(markers, [marker(Number(gen))], `generation ${gen}: its marker alone, the previous one deleted in the same write`);
      }
      await writer;
      assert.ok(views > 1, `the reader looked ${views} times while the writes ran`);
    });

    for (const sync of [true, false]) {
      test(`${sync ? 'sync' : 'non-sync'} writes across a SIGKILL: every write that resolved is kept, the one cut off is whole or absent`, async (t) => {
        // A killed process, not a power cut: what the OS had is kept either way, so this
        // cannot tell sync from non-sync (only an fsync'd log survives a power cut). It shows
        // that a write resolves only once LevelDB's log has it, and that a batch is one
        // record of that log.
        const tmp = tempDir('edgebus-batch-crash-');
        t.after(tmp.cleanup);
        const reported = await writeUntilKilled(subject, tmp.dir, sync, 25);
        const last = reported[reported.length - 1];
        assert.deepEqual(reported, Array.from({ length: last }, (_, i) => i + 1), 'the writer reports every generation in order');
        const store = await subject.open(tmp.dir);
        try {
          const view = await store.scan();
          const gens = new Set([...view.entries()].filter(([k]) => !k.includes('marker-')).map(([, v]) => text(v)));
          assert.equal(gens.size, 1, `the store holds several generations after the kill: ${[...gens].join(', ')}`);
          const gen = Number([...gens][0]);
          assert.ok(gen === last || gen === last + 1, `generation ${gen} stored; ${last} had resolved (at most one more was in flight)`);
          const markers = [...view.keys()].filter((k) => k.includes('marker-'));
          assert.deepEqual(markers, [`${store.prefixes[2]}marker-${gen}`]);
        } finally {
          await store.close();
        }
      });
    }
  });
}

/** The crash fixture's writes, generation `g`: the same keys in every prefix, and a marker replacing the last. */
export function putGeneration(store: BatchStore, batch: WriteBatch, g: number): void {
  for (const p of store.prefixes) for (let i = 0; i < 20; i++) batch.put(`${p}k${String(i).padStart(2, '0')}`, String(g));
  batch.put(`${store.prefixes[2]}marker-${g}`, String(g));
  batch.del(`${store.prefixes[2]}marker-${g - 1}`);
}
