// A command's JSON envelope: `id` names the event, `correlationId` and `causationId` place
// it in a chain (they leave the payload for the metadata); without them it starts its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandDraft } from '../../src/upstream/commands.js';

const NOW = Date.parse('2026-12-03T09:00:00.000Z');

function draftOf(body: unknown): { draft: ReturnType<typeof commandDraft>; warnings: string[] } {
  const warnings: string[] = [];
  const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { draft: commandDraft('gw', { device: 'pump-1', payload }, NOW, (w) => warnings.push(w)), warnings };
}

describe('commandDraft', () => {
  it('moves correlationId and causationId into the metadata', () => {
    const { draft, warnings } = draftOf({ id: 'c-1', on: true, correlationId: 'corr-A', causationId: 'alarm-9' });
    assert.equal(draft.id, 'c-1');
    assert.deepEqual(draft.payload, { id: 'c-1', on: true });
    assert.equal(draft.metadata.correlationId, 'corr-A');
    assert.equal(draft.metadata.causationId, 'alarm-9');
    assert.deepEqual(warnings, []);
  });

  it('starts a chain of its own without them (and with explicit nulls)', () => {
    for (const body of [{ on: true }, { on: true, correlationId: null, causationId: null }]) {
      const { draft, warnings } = draftOf(body);
      assert.deepEqual(draft.payload, { on: true });
      assert.equal(draft.metadata.correlationId, null);
      assert.equal(draft.metadata.causationId, null);
      assert.deepEqual(warnings, []);
    }
  });

  it('keeps a malformed one in the payload and says why', () => {
    const long = 'x'.repeat(257);
    const { draft, warnings } = draftOf({ on: true, correlationId: 42, causationId: long });
    assert.deepEqual(draft.payload, { on: true, correlationId: 42, causationId: long });
    assert.equal(draft.metadata.correlationId, null);
    assert.equal(draft.metadata.causationId, null);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /^correlationId must be a string of 1 to 256 characters/);
    assert.match(warnings[1], /^causationId must be a string of 1 to 256 characters/);
  });

  it('takes nothing from a command that is not a JSON object', () => {
    const { draft } = draftOf('["correlationId", "corr-A"]');
    assert.deepEqual(draft.payload, { value: ['correlationId', 'corr-A'] });
    assert.equal(draft.metadata.correlationId, null);
  });
});
