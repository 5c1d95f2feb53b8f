// Durable lookups: every kind of event id — a publisher's, one the gateway derived from a
// device `seq`, an alert's, a gateway-made ULID — still names its event once the dedup
// window has passed, for `replay --from id:` and `events --from-id` alike. The window is a
// second here; a probe id sent again until it is stored a second time shows it has passed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EdgeEvent } from '../../src/events/types.js';
import { getEvents, parseNdjson } from '../helpers/api.js';
import { killDaemon, runCli, spawnDaemon, writeConfig, type ChildDaemon } from '../helpers/daemon.js';
import { connect, endAll, publish, type MqttClient } from '../helpers/mqtt.js';
import { hotRule } from '../helpers/rules.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('replay --from id: and events --from-id after the dedup window', () => {
  const tmp = tempDir();
  let config: string;
  let d: ChildDaemon | null = null;
  let client: MqttClient | null = null;
  /** Each kind of id → the event it must name. */
  const named = new Map<string, EdgeEvent>();

  before(async () => {
    mkdirSync(join(tmp.dir, 'rules'), { recursive: true });
    writeFileSync(join(tmp.dir, 'rules', 'hot.yaml'), hotRule({ count: 1 }));
    config = writeConfig(tmp.dir, { store: { dedupWindow: '1s' } });
    d = await spawnDaemon(config);
    client = await connect(d.brokerUrl, { clientId: 'lookup-device' });
    await publish(client, 'sensors/gh-1/temperature', { id: 'pub-1', value: 35 });
    await publish(client, 'sensors/gh-2/temperature', { seq: 5, value: 20 });
    await publish(client, 'sensors/gh-3/temperature', '21');
    await publish(client, 'sensors/gh-4/temperature', { id: 'pub-2', value: 22 });
    await publish(client, 'sensors/probe/temperature', { id: 'probe', value: 0 });
    await waitFor(async () => {
      await publish(client!, 'sensors/probe/temperature', { id: 'probe', value: 1 });
      return (await getEvents(d!.httpUrl, { source: 'probe' })).length >= 2;
    }, { interval: 100, message: 'the probe id stored again: the dedup window has passed' });

    const events = await getEvents(d.httpUrl);
    const one = (what: string, pick: (e: EdgeEvent) => boolean) => {
      const found = events.filter(pick);
      assert.equal(found.length, 1, what);
      named.set(what, found[0]);
    };
    one('publisher', (e) => e.id === 'pub-1');
    one('derived', (e) => e.id === 'gh-2:0:5');
    one('alert', (e) => e.type === 'Alert');
    one('ulid', (e) => e.source === 'gh-3');
    assert.match(named.get('ulid')!.id, ULID);
  });
  after(async () => {
    await endAll([client ?? undefined]);
    await killDaemon(d);
    tmp.cleanup();
  });

  test('replay --from id: starts at the named event, whatever made its id', async () => {
    for (const [kind, event] of named) {
      const log = await getEvents(d!.httpUrl);
      const expected = log.filter((e) => e.seq >= event.seq).length;
      const r = await runCli(['replay', '--config', config, '--from', `id:${event.id}`, '--to', 'rules']);
      assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `replayed ${expected} events to rules`, `${kind} id ${event.id}`);
      assert.equal((await getEvents(d!.httpUrl)).length, log.length, 'the replay stored nothing: its alert is a duplicate');
    }
  });

  test('events --from-id finds each one, through the daemon and from the stopped store', async () => {
    const read = async () => {
      const seqs: Record<string, number | undefined> = {};
      for (const [kind, event] of named) {
        const r = await runCli(['events', '--config', config, '--from-id', event.id, '--limit', '1', '--json']);
        assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
        seqs[kind] = parseNdjson<EdgeEvent>(r.stdout)[0]?.seq;
      }
      return seqs;
    };
    const expected = Object.fromEntries([...named].map(([kind, e]) => [kind, e.seq]));
    assert.deepEqual(await read(), expected);
    d!.child.kill('SIGTERM');
    await d!.exited;
    assert.deepEqual(await read(), expected, 'read from the store itself');
  });

  test('an id no stored event has is a usage error naming it', async () => {
    const r = await runCli(['events', '--config', config, '--from-id', 'never-sent', '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no stored event has id "never-sent"/);
  });
});
