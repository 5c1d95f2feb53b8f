// `edgebus fleet push` (README "Fleets" › "Desired state"), run as a child process against a
// real mosquitto with two real gateway daemons following it: it publishes the document and
// waits for the reports of that version.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getStatus } from '../helpers/api.js';
import { runCli, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';
import { startUpstreamBroker, type UpstreamBroker } from '../helpers/upstream-broker.js';
import { waitFor } from '../helpers/wait.js';

const HOT = 'id: hot\nmatch: { type: DeviceData, sensor: temperature }\nwhere: { value: { gt: 30 } }\n';

describe('edgebus fleet push', () => {
  let broker: UpstreamBroker;
  const dirs = [tempDir(), tempDir()];
  const work = tempDir();
  const gateways: RunningDaemon[] = [];

  before(async () => {
    broker = await startUpstreamBroker();
    for (const [i, dir] of dirs.entries()) {
      gateways.push(await startDaemon(dir.dir, { gatewayId: `gw-${i + 1}`, upstream: { url: broker.url, retry: { initialDelay: '50ms', maxDelay: '300ms' } } }));
    }
    for (const g of gateways) {
      await waitFor(async () => ((await getStatus(g.httpUrl)) as { upstream: { connected: boolean } }).upstream.connected, { message: 'upstream connected' });
    }
  });
  after(async () => {
    for (const g of gateways) await g.stop();
    await broker.stop();
    for (const d of [...dirs, work]) d.cleanup();
  });

  it('publishes to the fleet and waits until both gateways report the version applied', async () => {
    const file = join(work.dir, 'v1.json');
    writeFileSync(file, JSON.stringify({ version: 'v1', rules: { 'hot.yaml': HOT } }));
    const r = await runCli(['fleet', 'push', file, '--url', broker.url, '--fleet', '--gateways', '2', '--timeout', '30s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^gw-1\tapplied\tbacktest hot=0$/m);
    assert.match(r.stdout, /^gw-2\tapplied\tbacktest hot=0$/m);
    for (const dir of dirs) assert.equal(readFileSync(join(dir.dir, 'rules', 'hot.yaml'), 'utf8'), HOT);
  });

  it('exits 1 when a named gateway rejects the document, printing its errors', async () => {
    const file = join(work.dir, 'v2.yaml');
    // With a route: validation fills in its defaults, yet the report's hash must be the file's.
    writeFileSync(file, `version: v2\nrules:\n  hot.yaml: ${JSON.stringify(HOT.replace('gt: 30', 'gtx: 30'))}\nroutes:\n  - { match: { type: Alert }, upstream: "edgebus/{gatewayId}/alerts" }\n`);
    const r = await runCli(['fleet', 'push', file, '--url', broker.url, '--gateway', 'gw-2', '--timeout', '30s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^gw-2\trejected$/m);
    assert.match(r.stdout, /^ {2}rules\/hot\.yaml:3: where\.value\.gtx: unknown operator "gtx"/m);
    assert.match(r.stdout, /^ {2}routes: not applied remotely by this gateway/m);
    assert.doesNotMatch(r.stdout, /gw-1/, 'only the named gateway was addressed');
    assert.equal(readFileSync(join(dirs[1].dir, 'rules', 'hot.yaml'), 'utf8'), HOT, 'nothing changed');
  });

  it('exits 2 when a gateway does not report within the timeout, naming it', async () => {
    const file = join(work.dir, 'v3.json');
    writeFileSync(file, JSON.stringify({ version: 'v3', rules: { 'hot.yaml': HOT } }));
    const r = await runCli(['fleet', 'push', file, '--url', broker.url, '--gateway', 'gw-1', '--gateway', 'gw-9', '--timeout', '10s']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^gw-1\tapplied/m);
    assert.match(r.stdout, /^gw-9\tno report$/m);
    assert.match(r.stderr, /timed out after 10s: 1 of 2 gateways reported version v3/);
  });

  it('refuses a bad document or bad arguments before publishing anything', async () => {
    const file = join(work.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ rules: {} }));
    const bad = await runCli(['fleet', 'push', file, '--url', broker.url, '--fleet', '--gateways', '2']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.json:1: missing required key "version"/);
    const both = await runCli(['fleet', 'push', file, '--url', broker.url, '--fleet', '--gateway', 'gw-1']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /either --fleet \(with --gateways N\) or one or more --gateway ID/);
  });
});
