// SPEC §8: a corrupt or unreadable store is moved aside (data/corrupt-<time>/) and a fresh
// one started, with a SystemEvent and an error log line; a store locked by another process
// still fails the start. Real stores on disk, corrupted for real, a real daemon in-process.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventStore, storeDir } from '../../src/store/event-store.js';
import { isCorruptOrUnreadable, isLockedError } from '../../src/store/quarantine.js';
import { startDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish } from '../helpers/mqtt.js';
import { readAll } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const SEEDED = 20;

/** A store with SEEDED events written through a real daemon, then closed. */
async function seed(dir: string): Promise<string> {
  const d = await startDaemon(dir);
  const client = await connect(d.brokerUrl);
  try {
    for (let i = 1; i <= SEEDED; i++) await publish(client, 'sensors/t1/temperature', { value: i, seq: i });
  } finally {
    await endAll([client]);
    await d.stop();
  }
  return storeDir(d.config.dataDir);
}

/** Opens and closes the store once more: LevelDB recovers its write-ahead log into a table. */
async function flushToTable(store: string): Promise<void> {
  const s = await EventStore.open(store);
  await s.close();
}

function corruptDirs(dataDir: string): string[] {
  return readdirSync(dataDir).filter((n) => n.startsWith('corrupt-')).map((n) => join(dataDir, n));
}

/** Starts the daemon on the damaged store and checks everything §8 promises. */
async function assertQuarantinedOnStart(dir: string, evidence: (movedTo: string) => void): Promise<void> {
  const d = await startDaemon(dir);
  const dataDir = d.config.dataDir;
  let movedTo: string;
  try {
    assert.equal((await fetch(`${d.httpUrl}/healthz`)).status, 200, 'it starts and is healthy');
    const moved = corruptDirs(dataDir);
    assert.equal(moved.length, 1, 'the old store is moved aside once');
    movedTo = moved[0];
    assert.match(movedTo, /corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/, 'named for the time, without colons');
    evidence(movedTo);
    const client = await connect(d.brokerUrl);
    try {
      await publish(client, 'sensors/t2/temperature', { value: 42, seq: 1 });
    } finally {
      await endAll([client]);
    }
  } finally {
    await d.stop();
  }
  const store = await EventStore.open(storeDir(dataDir));
  try {
    const events = await readAll(store);
    assert.equal(events.length, 2, 'the fresh store holds the SystemEvent and the new publish only');
    const [notice, reading] = events;
    assert.equal(notice.type, 'SystemEvent');
    assert.equal(notice.payload.kind, 'store-quarantined');
    assert.equal(notice.payload.movedTo, movedTo);
    assert.equal(typeof notice.payload.cause, 'string');
    assert.ok((notice.payload.cause as string).length > 0);
    assert.equal(notice.metadata.priority, 'high');
    assert.equal(reading.type, 'DeviceData');
    assert.equal(reading.payload.value, 42);
  } finally {
    await store.close();
  }
}

describe('a corrupt or unreadable store is quarantined at start', () => {
  test('CURRENT overwritten with garbage', async (t) => {
    const dir = tempDirFor(t);
    const store = await seed(dir);
    writeFileSync(join(store, 'CURRENT'), 'garbage without a newline');
    await assertQuarantinedOnStart(dir, (movedTo) => {
      assert.equal(readFileSync(join(movedTo, 'CURRENT'), 'utf8'), 'garbage without a newline', 'the evidence is kept as it was');
    });
  });

  test('MANIFEST garbled', async (t) => {
    const dir = tempDirFor(t);
    const store = await seed(dir);
    const manifest = readdirSync(store).find((n) => n.startsWith('MANIFEST-'));
    assert.ok(manifest);
    const size = statSync(join(store, manifest)).size;
    writeFileSync(join(store, manifest), randomBytes(Math.max(64, size)));
    await assertQuarantinedOnStart(dir, (movedTo) => assert.ok(existsSync(join(movedTo, manifest))));
  });

  test('a table file garbled while closed', async (t) => {
    const dir = tempDirFor(t);
    const store = await seed(dir);
    await flushToTable(store);
    const tables = readdirSync(store).filter((n) => n.endsWith('.ldb'));
    assert.ok(tables.length > 0, 'the events are in a table');
    for (const t of tables) writeFileSync(join(store, t), randomBytes(statSync(join(store, t)).size));
    await assertQuarantinedOnStart(dir, (movedTo) => assert.ok(existsSync(join(movedTo, tables[0]))));
  });

  test('an unreadable schema record', async (t) => {
    const dir = tempDirFor(t);
    const store = await seed(dir);
    const s = await EventStore.open(store);
    await s.meta.put('schemaVersion', '\u0000garbled');
    await s.close();
    await assertQuarantinedOnStart(dir, () => {});
  });

  test('the store path is a file', async (t) => {
    const dir = tempDirFor(t);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(storeDir(dataDir), 'not a directory');
    await assertQuarantinedOnStart(dir, (movedTo) => {
      assert.equal(readFileSync(movedTo, 'utf8'), 'not a directory', 'the file itself is moved aside');
    });
  });

  test('an unreadable file in the store (CURRENT is a directory: EISDIR, even as root)', async (t) => {
    const dir = tempDirFor(t);
    const store = await seed(dir);
    rmSync(join(store, 'CURRENT'));
    mkdirSync(join(store, 'CURRENT'));
    await assertQuarantinedOnStart(dir, (movedTo) => assert.ok(statSync(join(movedTo, 'CURRENT')).isDirectory()));
  });
});

describe('a store locked by another process', () => {
  test('fails the start with a message naming the lock, and is not moved', async (t) => {
    const dir = tempDirFor(t);
    const store = await seed(dir);
    const holder = await EventStore.open(store);
    try {
      await assert.rejects(startDaemon(dir), (err: Error) => {
        assert.match(err.message, /locked by another process/);
        assert.match(err.message, /LEVEL_LOCKED/);
        assert.ok(err.message.includes(store), 'names the store');
        return true;
      });
      assert.deepEqual(corruptDirs(join(dir, 'data')), [], 'nothing moved aside');
      assert.equal((await readAll(holder)).length, SEEDED, 'the events are all still there');
    } finally {
      await holder.close();
    }
  });
});

describe('classification', () => {
  const wrapped = (cause: Error & { code?: string }) => Object.assign(new Error('Database failed to open', { cause }), { code: 'LEVEL_DATABASE_NOT_OPEN' });
  const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

  test('corrupt or unreadable', () => {
    assert.ok(isCorruptOrUnreadable(wrapped(coded('LEVEL_CORRUPTION', 'Corruption: CURRENT file does not end with newline'))));
    assert.ok(isCorruptOrUnreadable(wrapped(coded('LEVEL_IO_ERROR', 'IO error: /x/000005.ldb: No such file or directory'))));
    assert.ok(isCorruptOrUnreadable(coded('LEVEL_CORRUPTION', 'Corruption: bad block type')));
    assert.ok(isCorruptOrUnreadable(coded('ENOTDIR', 'ENOTDIR: not a directory')));
    assert.ok(isCorruptOrUnreadable(new Error('Corruption: checksum mismatch')));
  });

  test('not corrupt: locked, full disk, unknown', () => {
    const locked = wrapped(coded('LEVEL_LOCKED', 'IO error: lock /x/LOCK: Resource temporarily unavailable'));
    assert.ok(isLockedError(locked));
    assert.ok(!isCorruptOrUnreadable(locked));
    assert.ok(!isCorruptOrUnreadable(wrapped(coded('LEVEL_IO_ERROR', 'IO error: /x/000007.log: No space left on device'))));
    assert.ok(!isCorruptOrUnreadable(wrapped(new Error('something else'))));
    assert.ok(!isCorruptOrUnreadable(coded('LEVEL_DATABASE_NOT_OPEN', 'Database is not open')));
  });
});
