// A stored Command reaches the local broker even when the daemon dies between its commit and
// its publish: the outbox entry written in the Command's own commit is published at the next
// start, once, in log order; an entry goes once its publish succeeded, and stays when it failed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventDraft, LocalDelivery } from '../../src/events/types.js';
import { CommandDelivery, type LocalPublish } from '../../src/pipeline/command-delivery.js';
import { countPendingDeliveries } from '../../src/store/outbox.js';
import { memoryLogger } from '../helpers/logger.js';
import { openRig, readAll, type StoreRig } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';

const T0 = Date.parse('2026-12-03T10:00:00Z');

function command(id: string, device: string, body: string): EventDraft {
  const delivery: LocalDelivery = { topic: `cmd/${device}`, payload: Buffer.from(body), qos: 1, retain: false };
  return {
    id, type: 'Command', source: 'gw', timestamp: new Date(T0).toISOString(), payload: { value: body }, device: { id: device },
    metadata: { correlationId: 'corr-1', causationId: null, version: '1', priority: 'normal', ttl: null },
    deviceSeq: null, explicitId: true, receivedAt: T0, delivery,
  };
}

function recorder(): { publish: LocalPublish; sent: string[] } {
  const sent: string[] = [];
  return { sent, publish: async (topic, payload) => void sent.push(`${topic} ${payload.toString()}`) };
}

function delivery(rig: StoreRig, publish: LocalPublish): CommandDelivery {
  return new CommandDelivery({ store: rig.store, publish, sync: true, log: memoryLogger('error').log });
}

describe('command outbox', () => {
  it('publishes after a restart what was stored and never published, once and in order', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    // Stored, then the process "dies": nothing publishes them.
    await Promise.all([rig.appender.append(command('c-1', 'fan-1', 'on')), rig.appender.append(command('c-2', 'fan-2', 'off'))]);
    assert.equal(await countPendingDeliveries(rig.store), 2);
    await rig.close();

    rig = await openRig(dir, clock);
    const after = recorder();
    assert.equal(await delivery(rig, after.publish).redeliverLeftovers(Number.MAX_SAFE_INTEGER, Promise.resolve()), 2);
    assert.deepEqual(after.sent, ['cmd/fan-1 on', 'cmd/fan-2 off']);
    assert.equal(await countPendingDeliveries(rig.store), 0);
    await rig.close();

    rig = await openRig(dir, clock);
    t.after(() => rig.close());
    const again = recorder();
    assert.equal(await delivery(rig, again.publish).redeliverLeftovers(Number.MAX_SAFE_INTEGER, Promise.resolve()), 0);
    assert.deepEqual(again.sent, []);
    assert.deepEqual((await readAll(rig.store)).map((e) => e.id), ['c-1', 'c-2'], 'the log is untouched');
  });

  it('a Command published at once leaves nothing behind; a duplicate and a reading write no entry', async (t) => {
    const rig = await openRig(tempDirFor(t), { now: T0 });
    t.after(() => rig.close());
    const r = recorder();
    const commands = delivery(rig, r.publish);
    const first = command('c-1', 'fan-1', 'on');
    assert.equal(await rig.appender.append(first), true);
    await commands.deliver(first);
    const dup = command('c-1', 'fan-1', 'on');
    assert.equal(await rig.appender.append(dup), false);
    await commands.deliver(dup);
    const reading: EventDraft = { ...command('r-1', 'fan-1', 'x'), type: 'DeviceData', delivery: undefined };
    await rig.appender.append(reading);
    assert.deepEqual(r.sent, ['cmd/fan-1 on'], 'the duplicate is not published');
    assert.equal(await countPendingDeliveries(rig.store), 0);
  });

  it('a Command stored after the start waits behind the leftovers and is published once', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    await rig.appender.append(command('c-1', 'fan-1', 'left over'));
    await rig.close();

    rig = await openRig(dir, clock);
    t.after(() => rig.close());
    const r = recorder();
    const commands = delivery(rig, r.publish);
    let ready: () => void = () => {};
    const leftovers = commands.redeliverLeftovers(rig.appender.committedSeq, new Promise<void>((resolve) => (ready = resolve)));
    // Stored and asked for while the devices are still opening: its outbox entry is there too.
    const fresh = command('c-2', 'fan-1', 'new');
    await rig.appender.append(fresh);
    const sent = commands.deliver(fresh);
    assert.deepEqual(r.sent, [], 'nothing before the devices tried their ports');
    ready();
    assert.equal(await leftovers, 1, 'only what was stored before the start');
    await sent;
    assert.deepEqual(r.sent, ['cmd/fan-1 left over', 'cmd/fan-1 new']);
    assert.equal(await countPendingDeliveries(rig.store), 0);
  });

  it('keeps an entry whose publish failed, for the next start', async (t) => {
    const dir = tempDirFor(t);
    const clock = { now: T0 };
    let rig = await openRig(dir, clock);
    const c = command('c-1', 'fan-1', 'on');
    await rig.appender.append(c);
    await delivery(rig, async () => {
      throw new Error('broker closing');
    }).deliver(c);
    assert.equal(await countPendingDeliveries(rig.store), 1);
    await rig.close();

    rig = await openRig(dir, clock);
    t.after(() => rig.close());
    const r = recorder();
    assert.equal(await delivery(rig, r.publish).redeliverLeftovers(Number.MAX_SAFE_INTEGER, Promise.resolve()), 1);
    assert.deepEqual(r.sent, ['cmd/fan-1 on']);
  });
});
