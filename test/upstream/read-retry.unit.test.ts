// A sender whose log read failed reads again by itself, once per failure burst, and not after stop.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ReadRetry } from '../../src/upstream/read-retry.js';
import { waitFor } from '../helpers/wait.js';

it('reads again after a failure, once however often the failure is reported before it', async () => {
  let reads = 0;
  const retry = new ReadRetry(() => reads++);
  retry.failed();
  retry.failed();
  retry.failed();
  await waitFor(() => reads === 1, { message: 'the read after the failure' });
  // A failure after the retry ran schedules the next one.
  retry.failed();
  await waitFor(() => reads === 2, { message: 'the read after the second failure' });
  retry.stop();
});

it('reads nothing once stopped, even with a retry due', async () => {
  let reads = 0;
  const retry = new ReadRetry(() => reads++);
  retry.failed();
  retry.stop();
  retry.failed();
  // A marker retry started after the stop proves the stopped one had its time to fire.
  let markerRan = false;
  const marker = new ReadRetry(() => { markerRan = true; });
  marker.failed();
  await waitFor(() => markerRan, { message: 'the marker retry' });
  assert.equal(reads, 0);
});
