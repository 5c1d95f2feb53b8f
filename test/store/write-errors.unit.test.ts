import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreUnavailableError } from '../../src/pipeline/appender.js';
import { storeErrorReason } from '../../src/store/write-errors.js';

test('a store error is explained by the system call that failed, wherever it sits in the cause chain', () => {
  // As LevelDB words them (seen on a full tmpfs and under RLIMIT_FSIZE).
  const write = new Error('IO error: /data/store/000004.log: No space left on device');
  const reopen = new Error('Database failed to open', { cause: new Error('IO error: /data/store/000007.ldb: No space left on device') });
  assert.equal(storeErrorReason(new StoreUnavailableError(write)), 'no space left on device (ENOSPC)');
  assert.equal(storeErrorReason(new StoreUnavailableError(reopen)), 'no space left on device (ENOSPC)');
  assert.equal(storeErrorReason(new StoreUnavailableError(new Error('IO error: /data/store/000004.log: File too large'))), 'file too large (EFBIG)');
  assert.equal(storeErrorReason(new StoreUnavailableError(new Error('Corruption: bad block'))), 'Corruption: bad block', 'otherwise the innermost message');
});
