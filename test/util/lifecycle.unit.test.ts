// Components start in order and stop in reverse (src/util/lifecycle.ts): a start that fails
// names its component and what started before it is still stopped; a stop that fails does
// not keep the others from stopping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ComponentStartError, Lifecycle, type Component } from '../../src/util/lifecycle.js';
import { createLogger } from '../../src/util/log.js';

const log = createLogger({ level: 'silent', format: 'json' });

function recorder() {
  const calls: string[] = [];
  const component = (name: string, opts: { failStart?: boolean; failStop?: boolean } = {}): Component => ({
    name,
    start: async () => {
      calls.push(`start ${name}`);
      if (opts.failStart) throw new Error('no port');
    },
    stop: () => {
      calls.push(`stop ${name}`);
      if (opts.failStop) throw new Error('stuck');
    },
  });
  return { calls, component };
}

describe('Lifecycle', () => {
  it('stops in the reverse of the start order', async () => {
    const { calls, component } = recorder();
    const lc = new Lifecycle(log);
    for (const name of ['store', 'pipeline', 'broker']) await lc.start(component(name));
    await lc.stop();
    assert.deepEqual(calls, ['start store', 'start pipeline', 'start broker', 'stop broker', 'stop pipeline', 'stop store']);
    await lc.stop();
    assert.equal(calls.length, 6, 'a second stop stops nothing twice');
  });

  it('a failed start names the component; what started before it still stops', async () => {
    const { calls, component } = recorder();
    const lc = new Lifecycle(log);
    await lc.start(component('store'));
    await assert.rejects(lc.start(component('http', { failStart: true })), (err: unknown) => {
      assert.ok(err instanceof ComponentStartError);
      assert.equal(err.component, 'http');
      assert.match(err.message, /^http did not start: no port$/);
      return true;
    });
    await lc.stop();
    assert.deepEqual(calls, ['start store', 'start http', 'stop store']);
  });

  it('a stop that throws does not keep the rest from stopping', async () => {
    const { calls, component } = recorder();
    const lc = new Lifecycle(log);
    await lc.start(component('store'));
    await lc.start(component('rules', { failStop: true }));
    await lc.stop();
    assert.deepEqual(calls, ['start store', 'start rules', 'stop rules', 'stop store']);
  });
});
