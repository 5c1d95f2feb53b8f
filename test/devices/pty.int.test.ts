// The pty pair that stands in for a USB serial adapter in tests: bytes both ways between two
// real serial ports, and an unplug the port notices (links gone, the open port closed).
import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { openSimEnd, ptyPair, ptyPairFor } from '../helpers/pty.js';
import { tempDir } from '../helpers/tmp.js';

/** A pair in a fresh directory, stopped and removed after the test whatever happens. */
const pairFor = (t: TestContext) => ptyPairFor(t, 'edgebus-pty-');

const gone = (path: string): boolean => {
  try {
    lstatSync(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
};

describe('pty pair', () => {
  it('carries bytes both ways between two serial ports', async (t) => {
    const { pty, open } = await pairFor(t);
    assert.equal(pty.devicePath.endsWith('/dev'), true);
    assert.equal(pty.simPath.endsWith('/sim'), true);
    assert.ok(pty.plugged());
    const device = await open(pty.devicePath);
    const sim = await open(pty.simPath);

    await sim.write('21.5,40\n');
    assert.deepEqual(await device.readLines(1), ['21.5,40']);
    const binary = Buffer.from([0x00, 0x7e, 0xff, 0x0a, 0x0d, 0x11, 0x13]); // raw: no CR/LF mapping, no XON/XOFF
    await device.write(binary);
    assert.deepEqual(await sim.readUntil((b) => b.length >= binary.length), binary);
    // Lines split across writes arrive whole once the rest comes.
    await sim.write('1,2\n3,');
    await sim.write('4\n');
    assert.deepEqual(await device.readLines(2), ['1,2', '3,4']);
    assert.equal(device.pending().length, 0);
  });

  it('unplug closes the open port and removes both links; replug brings them back', async (t) => {
    const { pty, open } = await pairFor(t);
    const device = await open(pty.devicePath);
    const sim = await open(pty.simPath);
    await sim.write('before\n');
    assert.deepEqual(await device.readLines(1), ['before']);

    const closed = new Promise<Error & { disconnected?: boolean }>((resolve) => device.port.once('close', resolve));
    await pty.unplug();
    const why = await closed;
    // serialport reports a vanished pty as a close with an error, not as an 'error' event.
    assert.equal(why?.disconnected, true, `close reason: ${why?.message}`);
    assert.equal(device.port.isOpen, false);
    assert.ok(device.closedBecause(), 'the SimEnd saw the close');
    await assert.rejects(device.readUntil(() => false, { timeout: 2_000 }), /port closed/);
    assert.ok(gone(pty.devicePath) && gone(pty.simPath), 'both links removed');
    assert.equal(pty.plugged(), false);
    await assert.rejects(openSimEnd(pty.devicePath), /No such file|ENOENT/);

    await pty.replug();
    assert.ok(existsSync(pty.devicePath) && existsSync(pty.simPath));
    assert.ok(pty.plugged());
    const device2 = await open(pty.devicePath);
    const sim2 = await open(pty.simPath);
    await sim2.write('after\n');
    assert.deepEqual(await device2.readLines(1), ['after']);
    await device2.write('ack\n');
    assert.deepEqual(await sim2.readLines(1), ['ack']);
  });

  it('an end can be closed and reopened while socat keeps running', async (t) => {
    const { pty, open } = await pairFor(t);
    const sim = await open(pty.simPath);
    const first = await openSimEnd(pty.devicePath);
    await first.write('one\n');
    assert.deepEqual(await sim.readLines(1), ['one']);
    await first.close();
    assert.ok(pty.plugged(), 'socat survives its end being closed');
    const second = await open(pty.devicePath);
    await sim.write('two\n');
    assert.deepEqual(await second.readLines(1), ['two']);
  });

  it('fails with what socat said when it cannot make the pair', async (t) => {
    const tmp = tempDir('edgebus-pty-');
    t.after(tmp.cleanup);
    const missing = join(tmp.dir, 'no', 'such', 'dir');
    await assert.rejects(ptyPair(missing), (err: Error) => {
      assert.match(err.message, /socat exited/);
      assert.match(err.message, /No such file or directory/, 'socat\'s own message');
      return true;
    });
  });
});
