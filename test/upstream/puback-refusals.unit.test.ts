// Self-checks of what puback-refusals.ts patches inside mqtt-packet, MQTT.js's parser: its
// MQTT 5 PUBACK/PUBREC reason-code table, found by path. mqtt comes in by a caret range
// and mqtt-packet with it: an upgrade that moves or reshapes the table, or a parser that
// stops reading it, makes these fail with the package, its version and what moved.
// (link.int.test.ts has the refusal end to end, against mosquitto.)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { acceptEveryPubackRefusal, extendPubackCodes, PACKET_TOO_LARGE } from '../../src/upstream/puback-refusals.js';
import { memoryLogger } from '../helpers/logger.js';

/** What `require` gives from where MQTT.js is installed: the mqtt-packet it parses with. */
const fromMqtt = createRequire(createRequire(import.meta.url).resolve('mqtt'));
const version = (pkg: string): string => (fromMqtt(`${pkg}/package.json`) as { version: string }).version;
const PACKAGE = `mqtt-packet ${version('mqtt-packet')} (under mqtt ${version('mqtt')})`;

interface Parser {
  on(event: 'packet', f: (p: { cmd: string; reasonCode?: number }) => void): void;
  on(event: 'error', f: (e: Error) => void): void;
  parse(buf: Buffer): number;
}

/** A PUBACK of packet id 1 with `code`, through mqtt-packet's MQTT 5 parser. */
function parsePuback(code: number): { reasonCode?: number } | Error {
  const { parser } = fromMqtt('mqtt-packet') as { parser(opts: { protocolVersion: number }): Parser };
  const p = parser({ protocolVersion: 5 });
  let out: { reasonCode?: number } | Error = new Error('nothing parsed');
  p.on('packet', (packet) => (out = packet));
  p.on('error', (err) => (out = err));
  p.parse(Buffer.from([0x40, 0x03, 0x00, 0x01, code]));
  return out;
}

function table(): unknown {
  return (fromMqtt('mqtt-packet/constants') as { MQTT5_PUBACK_PUBREC_CODES?: unknown }).MQTT5_PUBACK_PUBREC_CODES;
}

// In order: the first two look at mqtt-packet as installed, before the patch.
describe(`the PUBACK reason codes patched into ${PACKAGE}`, () => {
  it('the table is where the patch looks: constants.MQTT5_PUBACK_PUBREC_CODES, an object of code → name', () => {
    const t = table();
    assert.ok(typeof t === 'object' && t !== null && !Array.isArray(t) && !(t instanceof Map),
      `${PACKAGE}: constants.MQTT5_PUBACK_PUBREC_CODES is ${t instanceof Map ? 'a Map' : JSON.stringify(t)}; src/upstream/puback-refusals.ts adds codes to that object`);
    const codes = t as Record<number, string>;
    assert.equal(codes[0x00], 'Success', `${PACKAGE}: the table's entries changed shape`);
    assert.equal(codes[0x97], 'Quota exceeded', `${PACKAGE}: the table's entries changed shape`);
  });

  it('unpatched, the parser refuses PUBACK 0x95: the table is what it reads', () => {
    const got = parsePuback(PACKET_TOO_LARGE);
    assert.ok(got instanceof Error,
      `${PACKAGE} parses PUBACK 0x95 without the patch: its parser no longer reads MQTT5_PUBACK_PUBREC_CODES, or accepts the code by itself; check whether puback-refusals.ts is still needed`);
    assert.match(got.message, /Invalid puback reason code/);
  });

  it('patched, the parser reads PUBACK 0x95 as the refusal it is, and says nothing at start', () => {
    const { log, lines } = memoryLogger();
    acceptEveryPubackRefusal(log);
    assert.deepEqual(lines, [], 'no warning: the patch took');
    assert.equal(extendPubackCodes(), null);
    const got = parsePuback(PACKET_TOO_LARGE);
    assert.ok(!(got instanceof Error), `${PACKAGE}: the parser still refuses PUBACK 0x95 after the patch (${got instanceof Error ? got.message : ''}); puback-refusals.ts patches a table the parser does not read`);
    assert.equal(got.reasonCode, PACKET_TOO_LARGE);
  });

  it('every MQTT 5 error code MQTT.js names is accepted; the codes the table had keep their names', () => {
    acceptEveryPubackRefusal(memoryLogger().log);
    const codes = table() as Record<number, string>;
    for (const [code, name] of Object.entries(mqtt.ReasonCodes as Record<number, string>)) {
      if (Number(code) < 0x80) continue;
      assert.ok(!(parsePuback(Number(code)) instanceof Error), `${PACKAGE}: PUBACK 0x${Number(code).toString(16)} (${name}) refused`);
    }
    assert.equal(codes[0x10], 'No matching subscribers');
    assert.equal(codes[0x87], 'Not authorized');
    assert.ok(parsePuback(0x42) instanceof Error, 'a code that is no error and no PUBACK code is still refused');
  });
});
