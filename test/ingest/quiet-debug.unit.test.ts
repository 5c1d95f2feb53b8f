import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
// The broker loads it ahead of aedes; importing the broker must be enough.
import '../../src/ingest/broker.js';
import { quietDebug } from '../../src/ingest/quiet-debug.js';

interface Logger {
  (...args: unknown[]): void;
  namespace: string;
  enabled: boolean;
  log?: (...args: unknown[]) => void;
  extend(namespace: string): Logger;
}
interface CreateDebug {
  (namespace: string): Logger;
  enable(namespaces: string): void;
  disable(): string;
  enabled(namespace: string): boolean;
}

/** `debug` as mqtt-packet requires it. */
function debugOfMqttPacket(): CreateDebug {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('mqtt-packet'))('debug') as CreateDebug;
}

describe('quiet-debug: the loggers mqtt-packet makes', () => {
  test('a namespace left off gets a logger that does nothing, extended ones too', () => {
    const createDebug = debugOfMqttPacket();
    const logger = createDebug('edgebus-test:off');
    assert.equal(logger.enabled, false);
    assert.equal(logger.namespace, 'edgebus-test:off');
    assert.equal(logger('never %s', 'printed'), undefined);
    const child = logger.extend('child');
    assert.equal(child.namespace, 'edgebus-test:off:child');
    assert.equal(child.enabled, false);
  });

  test('a namespace turned on gets the real logger, which writes', () => {
    const createDebug = debugOfMqttPacket();
    createDebug.enable('edgebus-test:on');
    try {
      const logger = createDebug('edgebus-test:on');
      assert.equal(logger.enabled, true);
      const lines: unknown[][] = [];
      logger.log = (...args: unknown[]) => lines.push(args);
      logger('written %d', 1);
      assert.equal(lines.length, 1);
      assert.match(String(lines[0][0]), /edgebus-test:on written %d/);
      assert.equal(lines[0][1], 1);
    } finally {
      createDebug.disable();
    }
  });

  test('the real module stays reachable: enable, disable and enabled are its own', () => {
    const createDebug = debugOfMqttPacket();
    createDebug.enable('edgebus-test:a*');
    try {
      assert.equal(createDebug.enabled('edgebus-test:abc'), true);
      assert.equal(createDebug.enabled('edgebus-test:b'), false);
    } finally {
      createDebug.disable();
    }
  });

  test('installing it again changes nothing', () => {
    const before = debugOfMqttPacket();
    assert.equal(quietDebug(), true);
    assert.equal(debugOfMqttPacket(), before);
  });
});
