// Self-checks of what the native write batch (src/store/write-batch.ts) takes from
// classic-level beyond its public API: five functions of its binding and the database's
// private 'context' symbol. classic-level comes in by a caret range; an upgrade that moves
// either makes the store fall back to the slower batch with a warning at start, and these
// fail naming the package, its version and what moved, so the upgrade is looked at first.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it, type TestContext } from 'node:test';
import { EventStore } from '../../src/store/event-store.js';
import { BINDING_FUNCTIONS, CLASSIC_LEVEL, nativeBatchUnavailable } from '../../src/store/write-batch.js';
import { tempDir } from '../helpers/tmp.js';

async function storeFor(t: TestContext): Promise<EventStore> {
  const tmp = tempDir('edgebus-internals-');
  const store = await EventStore.open(tmp.dir);
  t.after(async () => {
    await store.close();
    tmp.cleanup();
  });
  return store;
}

describe(`${CLASSIC_LEVEL}: the internals the native write batch drives`, () => {
  it('classic-level/binding.js loads and has the batch functions', () => {
    let binding: Record<string, unknown>;
    try {
      binding = createRequire(import.meta.url)('classic-level/binding.js') as Record<string, unknown>;
    } catch (err) {
      assert.fail(`${CLASSIC_LEVEL}: classic-level/binding.js does not load (${(err as Error).message}); src/store/write-batch.ts reaches LevelDB's WriteBatch through it`);
    }
    const missing = BINDING_FUNCTIONS.filter((name) => typeof binding[name] !== 'function');
    assert.deepEqual(missing, [],
      `${CLASSIC_LEVEL}: classic-level/binding.js has no ${missing.join(', ')}; src/store/write-batch.ts calls them (binding.cc NAPI_EXPORT_FUNCTION): adapt NativeBatch to the new binding or pin classic-level`);
  });

  it("a database holds one 'context' symbol, the handle its binding takes", async (t) => {
    const store = await storeFor(t);
    const named = Object.getOwnPropertySymbols(store.db).filter((s) => s.description === 'context');
    assert.equal(named.length, 1,
      `${CLASSIC_LEVEL}: ${named.length} own symbols named 'context' on a ClassicLevel (index.js kContext); src/store/write-batch.ts finds the native database handle by that name`);
  });

  it("the store's batches are the native ones, not the fallback", async (t) => {
    const store = await storeFor(t);
    const why = nativeBatchUnavailable(store.db);
    assert.equal(why, null, `the daemon would commit through the slower fallback and warn at start: ${why}`);
  });

  it('where there is no native batch, the reason names the package, its version and what is missing', async (t) => {
    // A sublevel is an abstract-level database with no binding handle of its own.
    const store = await storeFor(t);
    const why = nativeBatchUnavailable(store.log as unknown as EventStore['db']);
    assert.equal(why, `${CLASSIC_LEVEL}: the database has no 'context' symbol (the handle classic-level passes to its binding)`);
    assert.match(CLASSIC_LEVEL, /^classic-level \d+\.\d+\.\d+/);
  });
});
