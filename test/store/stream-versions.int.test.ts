// Events stored by a release before streams were written into them lack `version`; the
// store's readers fill it from the streams sublevel. The log here is written by the real
// appender (so its stream segments are the real ones, several events per commit), then
// every stored event is put back without its version, as the older release stored it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeEvent, encodeValue } from '../../src/events/codec.js';
import type { EdgeEvent } from '../../src/events/types.js';
import { deleteIndexesThrough, deleteLogThrough } from '../../src/store/log-deletes.js';
import { readEvents } from '../../src/store/log-reader.js';
import { StreamVersionFill } from '../../src/store/stream-versions.js';
import { draftOn } from '../helpers/drafts.js';
import { openRig, readAll, type StoreRig } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const SOURCES = ['a', 'b', 'c'];

/** Rewrites every stored event without `version`: the bytes an older release left. */
async function stripVersions(rig: StoreRig): Promise<void> {
  const puts: { type: 'put'; key: string; value: Uint8Array }[] = [];
  for await (const [key, bytes] of rig.store.log.iterator()) {
    const { version: _dropped, ...legacy } = decodeEvent(bytes);
    puts.push({ type: 'put', key, value: encodeValue(legacy) });
  }
  await rig.store.log.batch(puts);
}

const pairs = (events: readonly EdgeEvent[]) => events.map((e) => [e.source, e.seq, e.version]);

describe('stream versions of events stored without them', () => {
  const tmp = tempDir();
  let rig: StoreRig;
  /** The log as the appender wrote it, versions included. */
  let written: EdgeEvent[];

  before(async () => {
    rig = await openRig(tmp.dir, { now: T0 });
    // Bursts of interleaved sources: a commit holds several events of each, so a segment has many seqs.
    for (let burst = 0; burst < 6; burst++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => rig.appender.append(draftOn(`sensors/${SOURCES[(i * 7 + burst) % 3]}/temperature`, { value: i }, T0))));
    }
    written = await readAll(rig.store);
    await stripVersions(rig);
  });
  after(async () => {
    await rig.close();
    tmp.cleanup();
  });

  test('the appender wrote 1..n per source, and the stripped log holds none', async () => {
    for (const s of SOURCES) {
      const versions = written.filter((e) => e.source === s).map((e) => e.version);
      assert.deepEqual(versions, versions.map((_, i) => i + 1));
    }
    assert.equal(written.length, 180);
    const segments = (await rig.store.streams.keys().all()).length;
    assert.ok(segments < written.length / 3, `${segments} segments: several events per commit and source`);
    for await (const bytes of rig.store.log.values()) assert.equal(decodeEvent(bytes).version, undefined);
  });

  test('a read of the whole log fills every version, in the stored field order', async () => {
    const read = await readAll(rig.store);
    assert.deepEqual(read, written);
    assert.deepEqual(Object.keys(read[0]).slice(0, 7), ['id', 'type', 'source', 'timestamp', 'seq', 'version', 'payload']);
  });

  test('reads that start mid-stream: from a seq, from a version, by type, a page at a time', async () => {
    assert.deepEqual(pairs(await readAll(rig.store, { fromSeq: 97 })), pairs(written.slice(96)));
    assert.deepEqual(pairs(await readAll(rig.store, { source: 'b', fromVersion: 40 })), pairs(written.filter((e) => e.source === 'b' && e.version! >= 40)));
    assert.deepEqual(pairs(await readAll(rig.store, { source: 'c', fromSeq: 150 })), pairs(written.filter((e) => e.source === 'c' && e.seq >= 150)));
    assert.deepEqual(pairs(await readAll(rig.store, { type: 'DeviceData', fromSeq: 120 })), pairs(written.slice(119)));
    const pages: EdgeEvent[] = [];
    for (let from = 1; from <= 180; from += 13) for await (const e of readEvents(rig.store, { fromSeq: from, toSeq: from + 12 })) pages.push(e);
    assert.deepEqual(pages, written);
  });

  test('one fill asked out of order (backwards, jumps) still answers each seq right', async () => {
    const fill = new StreamVersionFill(rig.store);
    const order = [...written].reverse().concat(written.filter((_, i) => i % 17 === 0));
    for (const e of order) assert.equal(await fill.versionOf(e.source, e.seq), e.version, `${e.source} seq ${e.seq}`);
    assert.equal(await fill.versionOf('a', 10_000), null, 'a seq past the stream');
    assert.equal(await fill.versionOf('nobody', 1), null, 'a source with no stream');
  });

  test('after retention pruned the head (segments half pruned), what is left keeps its versions', async () => {
    await deleteLogThrough(rig.store, 50, Infinity);
    await deleteIndexesThrough(rig.store, 50);
    assert.deepEqual(await readAll(rig.store), written.slice(50));
    assert.deepEqual(pairs(await readAll(rig.store, { source: 'a' })), pairs(written.filter((e) => e.source === 'a' && e.seq > 50)));
  });
});
