// A forward step of the wall clock must not publish the Last Will of a client that is still
// connected (src/ingest/broker-persistence.ts). A real Aedes runs in a child under
// libfaketime; the test steps its clock hour by hour while its will sweep runs. With Aedes'
// own persistence the sweep takes the broker for dead and publishes the device's Will: the
// control that shows the test can fail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fakeClock } from '../helpers/faketime.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const FIXTURE = join(ROOT, 'dist', 'test', 'ingest', 'fixtures', 'will-sweep.js');
/** How often the test moves the clock on another hour: faster than the sweep (1.2 s). */
const STEP_EVERY_MS = 200;

async function sweepWithSteps(mode: 'single-broker' | 'aedes-default'): Promise<{ wills: string[]; deviceConnected: boolean }> {
  const tmp = tempDir();
  const fake = fakeClock(tmp.dir);
  const child = spawn(process.execPath, [FIXTURE, mode], { env: { ...process.env, ...fake.env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let hours = 0;
  let stepper: NodeJS.Timeout | null = null;
  try {
    await waitFor(() => out.includes('ready\n'), { message: 'the broker and its clients' });
    stepper = setInterval(() => fake.offset(++hours * 3_600_000), STEP_EVERY_MS);
    // Enough steps that a sweep runs between a step and the broker's next heartbeat.
    await waitFor(() => hours >= 40, { timeout: 30_000, message: 'forty steps of an hour' });
    clearInterval(stepper);
    stepper = null;
    child.stdin.write('report\n');
    const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), { message: 'the report' });
    return JSON.parse(line) as { wills: string[]; deviceConnected: boolean };
  } finally {
    if (stepper) clearInterval(stepper);
    child.kill('SIGKILL');
    tmp.cleanup();
  }
}

describe('Last Wills across forward steps of the wall clock', () => {
  it('are not published for a client that is still connected', async () => {
    const r = await sweepWithSteps('single-broker');
    assert.equal(r.deviceConnected, true);
    assert.deepEqual(r.wills, []);
  });

  it('(control) Aedes\' own persistence does publish it: the test can fail', async () => {
    const r = await sweepWithSteps('aedes-default');
    assert.equal(r.deviceConnected, true);
    assert.ok(r.wills.includes('devices/device-1/status offline'), `wills: ${JSON.stringify(r.wills)}`);
  });
});
