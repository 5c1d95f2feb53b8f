// The primary host's STATE as the edge node reads it (Sparkplug 3.0 tck-id-message-flow-
// edge-node-birth-publish-phid-wait-*): JSON `online` and `timestamp`, and an offline STATE
// older than the last online one is an old session's and changes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrimaryHostState } from '../../src/upstream/sparkplug/host-state.js';

const state = (online: unknown, timestamp: unknown): Buffer => Buffer.from(JSON.stringify({ online, timestamp }));

describe('PrimaryHostState', () => {
  it('is offline until an online STATE arrives (phid-wait-online)', () => {
    const h = new PrimaryHostState();
    assert.equal(h.online, false);
    assert.equal(h.take(state(true, 10)), 'online');
    assert.equal(h.online, true);
  });

  it('takes an offline STATE at or after the online one (phid-offline)', () => {
    const h = new PrimaryHostState();
    h.take(state(true, 10));
    assert.equal(h.take(state(false, 10)), 'offline');
    assert.equal(h.online, false);
  });

  it('ignores an offline STATE older than the last online one (termination-host-offline-timestamp)', () => {
    const h = new PrimaryHostState();
    h.take(state(true, 20));
    assert.equal(h.take(state(false, 19)), 'stale');
    assert.equal(h.online, true);
  });

  it('forgets being online on a new connection, but keeps the timestamp to judge stale messages', () => {
    const h = new PrimaryHostState();
    h.take(state(true, 20));
    h.forget();
    assert.equal(h.online, false);
    assert.equal(h.take(state(true, 5)), 'stale');
    assert.equal(h.take(state(true, 25)), 'online');
  });

  it('refuses what is not the 3.0 JSON payload, without changing anything', () => {
    const h = new PrimaryHostState();
    h.take(state(true, 1));
    for (const bad of [Buffer.from('ONLINE'), Buffer.from('null'), state('yes', 2), state(true, '2'), Buffer.from([0xff])]) {
      assert.equal(h.take(bad), 'invalid');
    }
    assert.equal(h.online, true);
  });
});
