// Rules end to end (SPEC §5): readings published with MQTT.js to the real broker, alerts
// received on the local `alerts/...` topics; a restart in the middle of a window; absence
// across a restart; hot reload and a bad file; the backtest and `replay --to rules` verbs.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, getMetrics, getStatus, metricValue } from '../helpers/api.js';
import { runCli, startDaemon, writeConfig, type RunningDaemon } from '../helpers/daemon.js';
import { connect, listen, publish } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const HOT = `
id: hot
match: { type: DeviceData, sensor: temperature }
where: { value: { gt: 30 } }
groupBy: source
window: { sliding: 10m }
having: { count: { gte: 3 } }
emit: { severity: warning, priority: high, message: "{group} hot: max {max(value)}" }
clear: { where: { value: { lt: 28 } } }
actions:
  - publish: { topic: "cmd/{group}/fan", payload: { state: "on" } }
`;

function rulesDir(dir: string, files: Record<string, string>): string {
  const rules = join(dir, 'rules');
  mkdirSync(rules, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(rules, name), text);
  return rules;
}


async function alertsIn(httpUrl: string, rule: string): Promise<EdgeEvent[]> {
  return (await getEvents(httpUrl, { type: 'Alert', limit: 10_000 })).filter((e) => e.payload.rule === rule);
}

describe('rules end to end', () => {
  it('raises an alert on alerts/<rule>/<group> at high priority, runs its action, clears it once', async () => {
    const tmp = tempDir();
    rulesDir(tmp.dir, { 'hot.yaml': HOT });
    const d = await startDaemon(tmp.dir);
    const alerts = await listen(d.brokerUrl, 'alerts/#');
    const fan = await listen(d.brokerUrl, 'cmd/+/fan');
    const device = await connect(d.brokerUrl);
    try {
      for (const v of [31, 32, 33]) await publish(device, 'sensors/gh-1/temperature', { value: v });
      await waitFor(() => alerts.got.length === 1, { message: 'the alert on the local broker' });
      assert.equal(alerts.got[0].topic, 'alerts/hot/gh-1');
      const alert = JSON.parse(alerts.got[0].body) as EdgeEvent;
      assert.equal(alert.type, 'Alert');
      assert.equal(alert.payload.state, 'raised');
      assert.equal(alert.payload.message, 'gh-1 hot: max 33');
      assert.equal(alert.metadata.priority, 'high');
      assert.equal((alert.payload.events as string[]).length, 3);
      await waitFor(() => fan.got.length === 1, { message: 'the action' });
      assert.deepEqual(fan.got[0], { topic: 'cmd/gh-1/fan', body: '{"state":"on"}' });
      const stored = await alertsIn(d.httpUrl, 'hot');
      assert.equal(stored.length, 1, 'stored in the log');
      assert.equal(stored[0].id, alert.id);
      assert.ok(stored[0].seq > 3, 'appended after the readings');

      await publish(device, 'sensors/gh-1/temperature', { value: 29 });
      await publish(device, 'sensors/gh-1/temperature', { value: 27 });
      await publish(device, 'sensors/gh-1/temperature', { value: 26 });
      await waitFor(() => alerts.got.length === 2, { message: 'the clear' });
      assert.equal((JSON.parse(alerts.got[1].body) as EdgeEvent).payload.state, 'cleared');
      await waitFor(async () => metricValue(await getMetrics(d.httpUrl), 'edgebus_rule_alerts_total', { rule: 'hot', state: 'cleared' }) === 1, { message: 'metric' });
      assert.equal(metricValue(await getMetrics(d.httpUrl), 'edgebus_rule_alerts_total', { rule: 'hot', state: 'raised' }), 1);
      assert.equal((await alertsIn(d.httpUrl, 'hot')).length, 2, 'cleared once, nothing more');
    } finally {
      for (const c of [device, alerts.client, fan.client]) await c.endAsync();
      await d.stop();
      tmp.cleanup();
    }
  });

  it('rebuilds its windows after a restart, and never raises the same alert twice', async () => {
    const tmp = tempDir();
    rulesDir(tmp.dir, { 'hot.yaml': HOT });
    let d: RunningDaemon = await startDaemon(tmp.dir);
    let device = await connect(d.brokerUrl);
    try {
      await publish(device, 'sensors/gh-2/temperature', { value: 31 });
      await publish(device, 'sensors/gh-2/temperature', { value: 32 });
      await device.endAsync();
      await d.stop();

      d = await startDaemon(tmp.dir);
      device = await connect(d.brokerUrl);
      await publish(device, 'sensors/gh-2/temperature', { value: 33 });
      await waitFor(async () => (await alertsIn(d.httpUrl, 'hot')).length === 1, { message: 'the third reading, after the restart, completes the window' });
      await device.endAsync();
      await d.stop();

      d = await startDaemon(tmp.dir);
      device = await connect(d.brokerUrl);
      // A reading of another device proves the engine has run since the rebuild.
      for (const v of [31, 32, 33]) await publish(device, 'sensors/gh-3/temperature', { value: v });
      await waitFor(async () => (await alertsIn(d.httpUrl, 'hot')).some((a) => a.payload.group === 'gh-3'), { message: 'gh-3 alert' });
      assert.equal((await alertsIn(d.httpUrl, 'hot')).filter((a) => a.payload.group === 'gh-2').length, 1, 'the rebuild decided gh-2 again, with the same id: not stored twice');
    } finally {
      await device.endAsync();
      await d.stop();
      tmp.cleanup();
    }
  });

  it('notices a device that went silent while the gateway was down', async () => {
    const tmp = tempDir();
    rulesDir(tmp.dir, { 'quiet.yaml': 'id: quiet\nmatch: { type: DeviceData }\ngroupBy: source\nabsent: 400ms\n' });
    let d = await startDaemon(tmp.dir);
    const device = await connect(d.brokerUrl);
    await publish(device, 'sensors/q-1/temperature', '20');
    const sentAt = Date.now();
    await device.endAsync();
    await d.stop();
    try {
      // Wait out the absence on the clock while nothing runs: the condition, not a pause.
      await waitFor(() => Date.now() - sentAt > 600, { message: 'the absence to elapse' });
      d = await startDaemon(tmp.dir);
      await waitFor(async () => (await alertsIn(d.httpUrl, 'quiet')).length === 1, { message: 'the absent alert after the restart' });
      const [alert] = await alertsIn(d.httpUrl, 'quiet');
      assert.equal(alert.payload.group, 'q-1');
      assert.equal(alert.payload.state, 'raised');
    } finally {
      await d.stop();
      tmp.cleanup();
    }
  });

  it('hot-reloads the rules directory; a bad file is reported and its previous version keeps running', async () => {
    const tmp = tempDir();
    const dir = rulesDir(tmp.dir, { 'a.yaml': 'id: loud\nmatch: { sensor: noise }\nwhere: { value: { gt: 80 } }\n' });
    const d = await startDaemon(tmp.dir);
    const device = await connect(d.brokerUrl);
    try {
      writeFileSync(join(dir, 'b.yaml'), 'id: bright\nmatch: { sensor: light }\nwhere: { value: { gt: 1000 } }\n');
      await waitFor(async () => (await getStatus(d.httpUrl) as { rules: { loaded: number } }).rules.loaded === 2, { message: 'the new file loaded' });
      await publish(device, 'sensors/l-1/light', '2000');
      await waitFor(async () => (await alertsIn(d.httpUrl, 'bright')).length === 1, { message: 'the new rule fires' });

      writeFileSync(join(dir, 'a.yaml'), 'id: loud\nmatch: { sensor: noise }\nwhere: { value: { gtt: 80 } }\n');
      const status = await waitFor(async () => {
        const s = await getStatus(d.httpUrl) as { rules: { issues: string[] } };
        return s.rules.issues.length > 0 ? s : null;
      }, { message: 'the bad file reported' });
      assert.match(status.rules.issues[0], /a\.yaml:3: .*gtt/);
      await publish(device, 'sensors/n-1/noise', '90');
      await waitFor(async () => (await alertsIn(d.httpUrl, 'loud')).length === 1, { message: 'the previous version still fires' });
    } finally {
      await device.endAsync();
      await d.stop();
      tmp.cleanup();
    }
  });

  it('backtests a rule file over stored events, and replays the log through the rules', async () => {
    const tmp = tempDir();
    rulesDir(tmp.dir, {});
    const config = writeConfig(tmp.dir);
    const d = await startDaemon(tmp.dir);
    const device = await connect(d.brokerUrl);
    try {
      for (const v of [31, 35, 33]) await publish(device, 'sensors/bt-1/temperature', { value: v });
      await publish(device, 'sensors/bt-2/temperature', { value: 40 });
      const candidate = join(tmp.dir, 'candidate.yaml');
      writeFileSync(candidate, HOT);

      const bt = await runCli(['rules', 'test', candidate, '--since', '1h', '--config', config], { cwd: tmp.dir });
      assert.equal(bt.code, 0, bt.stderr);
      const lines = bt.stdout.trim().split('\n');
      assert.equal(lines.length, 1, bt.stdout);
      assert.match(lines[0], /raised\s+hot\s+bt-1\s+bt-1 hot: max 35/);
      assert.match(bt.stderr, /1 alert would have been emitted from \d+ events since 1h/);
      const json = await runCli(['rules', 'test', candidate, '--json', '--config', config], { cwd: tmp.dir });
      assert.equal((JSON.parse(json.stdout) as EdgeEvent).type, 'Alert');
      assert.equal((await alertsIn(d.httpUrl, 'hot')).length, 0, 'a backtest stores nothing');

      const bad = join(tmp.dir, 'bad.yaml');
      writeFileSync(bad, 'id: x\nwindow: { sliding: soon }\n');
      const badRun = await runCli(['rules', 'test', bad, '--config', config], { cwd: tmp.dir });
      assert.equal(badRun.code, 1);
      assert.match(badRun.stderr, /bad\.yaml:2: /);

      // Install the rule, then run the past through it.
      writeFileSync(join(tmp.dir, 'rules', 'hot.yaml'), HOT);
      await waitFor(async () => (await getStatus(d.httpUrl) as { rules: { loaded: number } }).rules.loaded === 1, { message: 'rule loaded' });
      assert.equal((await alertsIn(d.httpUrl, 'hot')).length, 0, 'a new rule does not judge the past by itself');
      const replay = await runCli(['replay', '--from', 'all', '--to', 'rules', '--config', config], { cwd: tmp.dir });
      assert.equal(replay.code, 0, replay.stderr);
      assert.match(replay.stdout, /replayed \d+ events to rules/);
      await waitFor(async () => (await alertsIn(d.httpUrl, 'hot')).length === 1, { message: 'the alert the past deserved' });
      const again = await runCli(['replay', '--from', 'all', '--to', 'rules', '--config', config], { cwd: tmp.dir });
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await alertsIn(d.httpUrl, 'hot')).length, 1, 'replayed twice, stored once');
    } finally {
      await device.endAsync();
      await d.stop();
      tmp.cleanup();
    }
  });
});
