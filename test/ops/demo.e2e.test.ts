// `npm run demo` end to end: the demo runs as a child (phases sped up, free ports) and its
// narrative shows readings stored, an alert raised, the outage and the backlog drained.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const DEMO = join(ROOT, 'dist', 'scripts', 'demo', 'main.js');

it('tells the demo: readings stored, an alert, an outage and its recovery, then exits 0', async () => {
  const child = spawn(process.execPath, [DEMO, '--fast', '--seconds', '20', '--free-ports'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    /** Waits for `re` in the output; a timeout shows the output as it is then. */
    const line = (re: RegExp, message: string): Promise<RegExpExecArray> =>
      waitFor(() => re.exec(out), { timeout: 30_000, message }).catch((err: Error) => {
        throw new Error(`${err.message}; the demo wrote:\n${out}`);
      });
    await line(/dashboard: http:\/\/127\.0\.0\.1:\d+\//, 'the dashboard URL');
    await line(/stored: [1-9]\d* readings and alerts/, 'readings stored');
    await line(/ALERT raised: greenhouse-2 too hot: average [\d.]+ °C/, 'the alert');
    const outage = await line(/outage: the cloud is unreachable; events are kept/, 'the outage');
    const back = await line(/cloud is back; (\d+) events waiting to be forwarded/, 'the cloud back');
    assert.ok(Number(back[1]) > 0, 'events were kept during the outage');
    const recovered = await line(/outage recovered: (\d+) events forwarded, backlog drained \(0\)/, 'the recovery');
    assert.ok(Number(recovered[1]) >= Number(back[1]), 'the backlog was forwarded');
    assert.ok(outage.index < back.index && back.index < recovered.index, 'in that order');
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    await waitFor(() => code !== undefined, { timeout: 60_000, message: 'the demo to exit' });
    assert.equal(code, 0, out);
    assert.match(out, /done/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
