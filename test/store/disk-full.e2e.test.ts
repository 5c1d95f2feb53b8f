// A full disk under QoS 1 load, on a real file system: a tmpfs of 128 MiB that the test
// mounts, holding the data dir, and a filler file the test grows. The real-disk sibling of
// test/ingest/store-fault.e2e.test.ts. The phases are built so that the accounting at the
// end is exact: the test reads back the seq of every event before eviction can reach it
// (phase A's are the oldest, and eviction takes the oldest first).
//   A. load with room to spare: every acknowledged id is in the log; its seqs are noted.
//   B. the filler takes free space under store.minFree (not to zero), load going on: an
//      eviction with cause disk-free happens while every write still succeeds.
//   C. the filler takes everything: publishes stop being acknowledged, /healthz says why.
//   D. the filler goes: ingest resumes by itself.
// Then, after a clean stop: every acknowledged id is in the log or was seen at a seq inside
// an eviction notice's range, and the log is gap-free but for the holes the notices declare.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { killDaemon, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { startLoad, type Device, type Load } from '../helpers/load.js';
import { assertUniqueIds, readStoredEvents } from '../helpers/log.js';
import { closed, connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const MB = 1_000_000;
const FS_SIZE = '128m';
/**
 * Over what LevelDB's compactions may need at once on this store, as store.minFree has to
 * be on a real card: a young store is all level-0 and level-1 tables, which a compaction
 * rewrites before it deletes them (the store is ~35 MB after phase A and swung by ~10 MB
 * while compacting). With 20 MB free over a 17 MB store, and once with 28 MB over 26 MB, a
 * background compaction after phase A's burst failed a write before the watcher's next look.
 */
const MIN_FREE = 48 * MB;
/** Phase B leaves this much less than minFree free: the eviction needed is far smaller than phase A's events. */
const B_DEFICIT = 1 * MB;
/**
 * Readings of ~800 bytes: phase A's 40 000 make some 35 MB of store in a few seconds. One
 * publish in flight per device: out-of-order readings are staged in the store and deleted
 * again, and that churn inflated the store by half until compacted.
 */
const LOAD = { devices: 32, inflight: 1, padding: 500 };

interface Health { code: number; body: { status: string; reason?: string } }

async function health(httpUrl: string): Promise<Health> {
  const res = await fetch(`${httpUrl}/healthz`);
  return { code: res.status, body: (await res.json()) as Health['body'] };
}

const freeBytes = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

/** The file the test fills the file system with. */
class Filler {
  private fd: number | null;
  private readonly chunk = Buffer.alloc(1 << 20, 0x5a);
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Appends `bytes` (Infinity: until the file system refuses); returns what was written. */
  grow(bytes: number): number {
    let written = 0;
    for (let size = this.chunk.length; written < bytes && size >= 512;) {
      try {
        written += writeSync(this.fd!, this.chunk, 0, Math.min(size, bytes - written));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        size >>= 1;
      }
    }
    return written;
  }

  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  /** An open file keeps the file system busy: umount would fail. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** id → seq of every event in the log now. */
async function seqsById(httpUrl: string): Promise<Map<string, number>> {
  return new Map((await getEvents(httpUrl, { limit: 1_000_000 })).map((e) => [e.id, e.seq]));
}

const ackedIds = (devices: readonly Device[]) => devices.flatMap((d) => [...d.acked]);

/** Every seq range an eviction notice says is gone (forwarded and unforwarded). */
function evictedRanges(notices: readonly EdgeEvent[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const n of notices) {
    const p = n.payload as Record<string, number | null>;
    if (p.forwardedFromSeq !== null) ranges.push([p.forwardedFromSeq, p.forwardedToSeq!]);
    if (p.fromSeq !== null) ranges.push([p.fromSeq, p.toSeq!]);
  }
  return ranges;
}

describe('a full disk under QoS 1 load', () => {
  const tmp = tempDir('edgebus-disk-full-');
  const mountPoint = join(tmp.dir, 'fs');
  let mounted = false;
  let d: ChildDaemon;
  let filler: Filler;
  const loads: Load[] = [];
  const clients: MqttClient[] = [];
  /** Seqs of events the test has seen in the log: what an eviction may account for. */
  const known = new Map<string, number>();
  /** Acknowledged publishes outside the loads (phase C's probes). */
  const probesAcked: string[] = [];

  before(async () => {
    mkdirSync(mountPoint);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_SIZE}`, 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`this test needs a small file system of its own to fill: mount -t tmpfs at ${mountPoint} failed (run the tests as root, with mount(8)): ${(err as Error).message}`);
    }
    mounted = true;
    d = await spawnDaemon(writeConfig(tmp.dir, {
      dataDir: join(mountPoint, 'data'),
      store: { durability: 'fsync', minFree: MIN_FREE },
      // Never by the clock during the test: eviction has to come from the disk watcher.
      schedules: { prune: '0 0 1 1 *', heartbeat: '0 0 1 1 *' },
    }));
    filler = new Filler(join(mountPoint, 'filler'));
  });

  after(async () => {
    for (const load of loads) {
      load.stop();
      await load.close();
    }
    await endAll(clients);
    await killDaemon(d);
    filler?.close();
    if (mounted) execFileSync('umount', [mountPoint]);
    tmp.cleanup();
  });

  async function runLoad(prefix: string, acks: number, during?: () => Promise<void>): Promise<Load> {
    const load = await startLoad(d.brokerUrl, { ...LOAD, prefix });
    loads.push(load);
    await during?.();
    await waitFor(() => load.acked() >= acks, { timeout: 20_000, message: `${acks} PUBACKs from ${prefix}` });
    load.stop();
    await load.done;
    return load;
  }

  async function noteSeqs(): Promise<Map<string, number>> {
    const seqs = await seqsById(d.httpUrl);
    for (const [id, seq] of seqs) known.set(id, seq);
    return seqs;
  }

  test('A. with room to spare every acknowledged id is stored and nothing is evicted', async (t) => {
    const load = await runLoad('a', 40_000);
    const seqs = await noteSeqs();
    const lost = ackedIds(load.devices).filter((id) => !seqs.has(id));
    assert.deepEqual(lost, [], 'acknowledged ids missing from the log');
    const status = await getStatus(d.httpUrl);
    const disk = status.disk as { freeBytes: number; minFree: number; low: boolean };
    assert.deepEqual({ minFree: disk.minFree, low: disk.low }, { minFree: MIN_FREE, low: false });
    assert.ok(Math.abs(disk.freeBytes - freeBytes(mountPoint)) < 8 * MB, `status reports the tmpfs's free space: ${disk.freeBytes}`);
    t.diagnostic(`phase A: ${load.acked()} acked, store ${status.storeBytes as number} bytes, ${disk.freeBytes} free`);
    assert.doesNotMatch(d.output(), /evicted \d+/, 'nothing evicted with room to spare');
    assert.ok((status.storeBytes as number) > 3 * (MIN_FREE / 0.9 - MIN_FREE + B_DEFICIT), 'phase A holds several times what phase B will evict (the test\'s own premise)');
    assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_disk_free_bytes') !== undefined, true);
  });

  test('B. under store.minFree, not full: eviction starts, cause disk-free, while every write still succeeds', async (t) => {
    const load = await runLoad('b', 800, async () => {
      filler.grow(freeBytes(mountPoint) - (MIN_FREE - B_DEFICIT));
      assert.ok(freeBytes(mountPoint) < MIN_FREE, 'the filler took free space under minFree');
      // Watched through the log, not by reading the store: an open read pins LevelDB's old
      // tables, so eviction would cost space instead of giving it back until it ends.
      await waitFor(() => /under store.minFree[^"]*: evicted/.test(d.output()), { timeout: 15_000, message: 'an eviction for free space' });
      const metrics = await getMetrics(d.httpUrl);
      assert.equal(metricValue(metrics, 'edgebus_store_write_errors_total'), 0, 'no write had failed when eviction started');
      assert.deepEqual(await health(d.httpUrl), { code: 200, body: { status: 'ok' } }, 'low space alone is not unhealthy');
    });
    const notice = (await getEvents(d.httpUrl, { type: 'SystemEvent' })).find((e) => e.payload.kind === 'eviction');
    assert.ok(notice, 'the eviction is recorded as a SystemEvent');
    const p = notice.payload as Record<string, unknown>;
    t.diagnostic(`eviction: ${JSON.stringify(p)}`);
    assert.equal(p.cause, 'disk-free');
    assert.equal(p.minFree, MIN_FREE);
    assert.ok((p.freeBytesBefore as number) < MIN_FREE, 'it ran because free space was under minFree');
    assert.ok((p.forwarded as number) + (p.evicted as number) > 0);
    assert.equal(notice.metadata.priority, 'high');
    await waitFor(async () => !((await getStatus(d.httpUrl)).disk as { low: boolean }).low, { timeout: 15_000, message: 'free space back over minFree' });
    assert.ok(freeBytes(mountPoint) >= MIN_FREE);
    assert.ok(d.output().includes('under store.minFree'), 'the low space is logged');
    const seqs = await noteSeqs();
    const lost = ackedIds(load.devices).filter((id) => !seqs.has(id));
    assert.deepEqual(lost, [], 'what was acknowledged while space was low is all stored');
  });

  /** One QoS 1 publish on a connection of its own: acknowledged, or refused (no PUBACK, connection closed). */
  async function probe(id: string): Promise<'acked' | 'refused'> {
    const client = await connect(d.brokerUrl, { clientId: id });
    clients.push(client);
    const outcome = await Promise.race([publish(client, 'sensors/probe/t', { id, value: 1 }).then(() => 'acked' as const, () => 'refused' as const), closed(client).then(() => 'refused' as const)]);
    if (outcome === 'acked') probesAcked.push(id);
    await endAll([client]);
    return outcome;
  }

  test('C. full: publishes stop being acknowledged and /healthz says why', async () => {
    const load = await startLoad(d.brokerUrl, { ...LOAD, prefix: 'c' });
    loads.push(load);
    await waitFor(() => load.acked() > 0, { message: 'load C acknowledged before the disk is full' });
    let n = 0;
    // Whatever eviction or a reopen frees while the disk fills, the filler takes too. A
    // full disk shows only when something is written, and the load's devices may all have
    // been refused already: each look writes one more reading.
    const down = await waitFor(async () => {
      filler.grow(Infinity);
      const before = await health(d.httpUrl);
      const outcome = await probe(`probe-${n++}`);
      const after = await health(d.httpUrl);
      return before.code === 503 && outcome === 'refused' && after.code === 503 ? after : undefined;
    }, { timeout: 30_000, message: 'a publish refused while /healthz answers 503' });
    assert.deepEqual(down.body, { status: 'store-unavailable', reason: 'no space left on device (ENOSPC)' });
    // Each device's connection was closed when its publish was refused.
    await waitFor(() => load.done.then(() => true), { timeout: 10_000, message: 'every load C device refused' });
    assert.ok((metricValue(await getMetrics(d.httpUrl), 'edgebus_store_write_errors_total') ?? 0) >= 1);
    const status = await getStatus(d.httpUrl);
    assert.equal(status.state, 'store-unavailable');
    assert.equal((status.disk as { low: boolean }).low, true);
    assert.equal(d.child.exitCode, null, 'the daemon keeps running');
  });

  test('D. space returns: ingest resumes by itself', async () => {
    filler.remove();
    await waitFor(async () => (await health(d.httpUrl)).code === 200, { timeout: 20_000, message: 'the store to reopen once space returned' });
    const load = await runLoad('d', 2_000);
    assert.ok(load.acked() >= 2_000);
    assert.deepEqual(await health(d.httpUrl), { code: 200, body: { status: 'ok' } });
    assert.equal(((await getStatus(d.httpUrl)).disk as { low: boolean }).low, false);
  });

  test('every acknowledged id is stored or inside an eviction\'s range; the log has no other hole', async (t) => {
    await waitFor(async () => (await getStatus(d.httpUrl)).stagedEvents === 0, { message: 'no reading waiting for its predecessors' });
    d.child.kill('SIGTERM');
    assert.deepEqual(await d.exited, { code: 0, signal: null });
    const events = await readStoredEvents(join(mountPoint, 'data'));
    assertUniqueIds(events);
    const notices = events.filter((e) => e.type === 'SystemEvent' && e.payload.kind === 'eviction');
    assert.ok(notices.length >= 1);
    assert.ok(notices.every((n) => n.payload.cause === 'disk-free'), 'store.maxBytes was never the bound');
    const ranges = evictedRanges(notices);
    const inRange = (seq: number) => ranges.some(([from, to]) => seq >= from && seq <= to);

    // Gap-free but for the holes the notices declare.
    const present = new Set(events.map((e) => e.seq));
    const last = events[events.length - 1].seq;
    const missing: number[] = [];
    for (let seq = 1; seq <= last; seq++) if (!present.has(seq)) missing.push(seq);
    assert.deepEqual(missing.filter((s) => !inRange(s)), [], 'seqs missing outside any eviction range');
    // A notice is stored before its deletes: it may name events a failed delete left in
    // place (a full disk), never fewer than went.
    const declared = notices.reduce((n, e) => n + (e.payload.forwarded as number) + (e.payload.evicted as number), 0);
    assert.ok(missing.length <= declared, `${missing.length} holes, ${declared} evictions declared`);

    // An acknowledged id not in the log must be one the test saw stored, at a seq now gone.
    const stored = new Set(events.map((e) => e.id));
    const acked = [...loads.flatMap((l) => ackedIds(l.devices)), ...probesAcked];
    const unaccounted = acked.filter((id) => !stored.has(id) && !(known.has(id) && !present.has(known.get(id)!) && inRange(known.get(id)!)));
    assert.deepEqual(unaccounted, [], 'acknowledged ids neither stored nor accounted for by an eviction');
    const evictedAcked = acked.filter((id) => !stored.has(id)).length;
    assert.ok(evictedAcked > 0, 'phase B evicted acknowledged readings (else this accounting proves little)');
    t.diagnostic(`${acked.length} acknowledged, ${evictedAcked} of them evicted, ${notices.length} eviction notices, ${missing.length} holes, ${events.length} events left`);
  });
});
