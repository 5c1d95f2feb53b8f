// Asserting a rule compile error: a RuleError at the exact path, with a message to match.
import assert from 'node:assert/strict';
import { RuleError } from '../../src/rules/types.js';

export function throwsAt(fn: () => unknown, path: (string | number)[], message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RuleError, `expected a RuleError, got ${String(err)}`);
    assert.deepEqual(err.path, path);
    assert.match(err.message, message);
    return true;
  });
}
