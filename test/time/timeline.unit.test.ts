// The clock's segments over the log (src/time/timeline.ts): receive and event times on the
// gateway clock, and timestamps corrected by the steps that came after them in their run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime } from '../../src/events/iso-time.js';
import type { EdgeEvent, EventMetadata } from '../../src/events/types.js';
import { Timeline, type ClockSegment } from '../../src/time/timeline.js';

const G0 = Date.UTC(2026, 11, 1);
const DAY = 86_400_000;
/** The wall clock at boot read 1970: 56 years behind the gateway clock. */
const BOOT_OFFSET = 0 - G0;

const seg = (over: Partial<ClockSegment> & Pick<ClockSegment, 'fromSeq'>): ClockSegment => ({
  cause: 'start', boot: 'b-1', uptime: 1_000, g: G0, offset: 0, quality: 'synced', ...over,
});

/** An event as the appender stores it: gateway-stamped unless `own` (the publisher's time) is given. */
function event(seq: number, g: number, offset: number, clock: EventMetadata['clock'], own?: number): EdgeEvent {
  const wall = g + offset;
  const metadata: EventMetadata = { correlationId: null, causationId: null, version: '1', priority: 'normal', ttl: null, clock };
  if (own !== undefined) metadata.receivedAt = isoTime(wall);
  return { id: `e${seq}`, type: 'DeviceData', source: 's', seq, timestamp: isoTime(own ?? wall), payload: {}, metadata };
}

/** A boot at 1970 (unsynced) that NTP steps to the truth at seq 100. */
function bootAt1970(): Timeline {
  return new Timeline([
    seg({ fromSeq: 1, offset: BOOT_OFFSET, quality: 'unsynced' }),
    seg({ fromSeq: 100, cause: 'step', g: G0 + 60_000, offset: 0, quality: 'stepped' }),
    seg({ fromSeq: 101, cause: 'quality', g: G0 + 61_000, offset: 0, quality: 'synced' }),
  ]);
}

describe('Timeline', () => {
  it('corrects a timestamp stamped before a step by the offset that step found', () => {
    const t = bootAt1970();
    const before = event(50, G0 + 30_000, BOOT_OFFSET, 'unsynced');
    assert.equal(before.timestamp, '1970-01-01T00:00:30.000Z');
    assert.equal(isoTime(t.correctedTime(before)), isoTime(G0 + 30_000));
    const after = event(120, G0 + 90_000, 0, 'synced');
    assert.equal(t.correctedTime(after), G0 + 90_000, 'after the step nothing to correct');
    assert.equal(t.correction(50), -BOOT_OFFSET);
    assert.equal(t.correction(120), 0);
  });

  it('leaves a publisher\'s own time as it was', () => {
    const t = bootAt1970();
    const own = G0 + 29_000;
    const e = event(50, G0 + 30_000, BOOT_OFFSET, 'unsynced', own);
    assert.equal(t.correctedTime(e), own);
    assert.equal(t.receiveTime(e), G0 + 30_000, 'received on the gateway clock, from metadata.receivedAt');
  });

  it('gives event time on the gateway clock: the receive time, less an age only a synchronised clock can measure', () => {
    const t = bootAt1970();
    assert.equal(t.eventTime(event(50, G0 + 30_000, BOOT_OFFSET, 'unsynced')), G0 + 30_000);
    assert.equal(t.eventTime(event(120, G0 + 90_000, 0, 'synced', G0 + 80_000)), G0 + 80_000, 'ten seconds old when it came');
    assert.equal(t.eventTime(event(50, G0 + 30_000, BOOT_OFFSET, 'unsynced', G0)), G0 + 30_000, 'on an unsynced clock the publisher\'s age says nothing');
    assert.equal(t.eventTime(event(120, G0 + 90_000, 0, 'synced', G0 + 95_000)), G0 + 90_000, 'a publisher ahead of the gateway counts as now');
  });

  it('keeps one run across restarts within a boot, and starts another at a reboot', () => {
    const t = new Timeline([
      seg({ fromSeq: 1, offset: -DAY, quality: 'unsynced' }),
      seg({ fromSeq: 10, cause: 'start', boot: 'b-1', uptime: 50_000, g: G0 + 49_000, offset: -DAY, quality: 'unsynced' }),
      seg({ fromSeq: 20, cause: 'step', g: G0 + 60_000, offset: 0, quality: 'synced' }),
      seg({ fromSeq: 30, cause: 'start', boot: 'b-2', uptime: 2_000, g: G0 + 70_000, offset: -2 * DAY, quality: 'unsynced' }),
    ]);
    assert.equal(t.correction(5), DAY, 'the restart at seq 10 was in the same boot: the step corrects both lives');
    assert.equal(t.correction(15), DAY);
    assert.equal(t.correction(25), 0);
    assert.equal(t.correction(35), 0, 'a new boot is a run of its own, never corrected by another');
  });

  it('finds where a read from a corrected wall time starts, run by run', () => {
    const t = bootAt1970();
    assert.equal(t.gatewayTimeOf(G0 + 30_000), G0 + 30_000, 'corrected times map straight onto the gateway clock');
    const twoRuns = new Timeline([
      seg({ fromSeq: 1, offset: 0 }),
      seg({ fromSeq: 50, cause: 'start', boot: 'b-2', g: G0 + 100_000, offset: -10 * DAY, quality: 'unsynced' }),
    ]);
    // The second boot never synchronised: its times read ten days early.
    assert.equal(twoRuns.gatewayTimeOf(G0 + 50_000), G0 + 50_000);
    assert.equal(twoRuns.gatewayTimeOf(G0 - 9 * DAY), G0 - 9 * DAY, 'reachable in the first run, before the second began');
    assert.equal(twoRuns.gatewayTimeOf(G0 + DAY), G0 + 11 * DAY, 'only the last run, still open, reaches that late');
    assert.equal(twoRuns.wallOf(G0 + 200_000), G0 + 200_000 - 10 * DAY);
  });

  it('merges a segment that starts where the last did, and forgets segments wholly before the log', () => {
    const t = bootAt1970();
    t.add(seg({ fromSeq: 101, cause: 'step', offset: 5_000, quality: 'stepped' }));
    assert.equal(t.segments.length, 3);
    assert.equal(t.last?.cause, 'quality', 'nothing was appended between: the earlier segment takes the new offset');
    assert.equal(t.last?.offset, 5_000);
    const dropped = t.dropBefore(100);
    assert.deepEqual(dropped.map((s) => s.fromSeq), [1]);
    assert.equal(t.segmentOf(100)?.fromSeq, 100);
    assert.equal(t.segmentOf(99), null);
  });
});
