// The next slot of a cron expression (src/jobs/cron-slots.ts), checked against node-cron's own
// reading of the same expression: the slot found matches it (node-cron's task.match), and no
// earlier minute after the start does. Run in a time zone with daylight saving, so the walk
// crosses both of its steps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cron from 'node-cron';
import { nextSlot, plainFields } from '../../src/jobs/cron-slots.js';

process.env.TZ = 'Europe/Berlin';

const EXPRESSIONS = ['*/5 * * * *', '* * * * *', '0 * * * *', '30 2 * * *', '15 9 * * mon-fri', '0 0 1 * *', '0 12 * feb,jul sun', '*/20 * * * * *', '@daily'];
const STARTS = ['2026-01-01T00:00:00Z', '2026-02-28T23:59:59.500Z', '2026-03-29T00:30:00Z', '2026-10-25T00:30:00Z', '2028-02-28T22:00:00Z', '2026-12-31T23:58:30Z'];

describe('cron slots', () => {
  for (const expr of EXPRESSIONS) {
    it(`${expr}: the first matching second after each start, as node-cron reads it`, () => {
      const fields = plainFields(expr);
      assert.ok(fields, 'plain numeric fields');
      const task = cron.createTask(expr, () => undefined);
      try {
        for (const start of STARTS) {
          const from = Date.parse(start);
          const slot = nextSlot(fields, from);
          assert.ok(slot !== null, `${expr} from ${start}: a slot`);
          assert.ok(slot > from, `${expr} from ${start}: after the start`);
          assert.equal(slot % 1000, 0, 'a whole second');
          assert.ok(task.match(new Date(slot)), `${expr} from ${start}: ${new Date(slot).toISOString()} matches`);
          // Nothing earlier: every whole minute (and, for seconds fields, second) in between fails.
          const step = expr.split(' ').length === 6 ? 1000 : 60_000;
          for (let t = Math.ceil((from + 1) / step) * step; t < slot; t += step) {
            assert.ok(!task.match(new Date(t)), `${expr} from ${start}: ${new Date(t).toISOString()} matches before ${new Date(slot).toISOString()}`);
          }
        }
      } finally {
        void task.destroy();
      }
    });
  }

  it('leaves the special day tokens to node-cron', () => {
    assert.equal(plainFields('0 0 L * *'), null);
    assert.equal(plainFields('0 0 * * 1#2'), null);
  });

  it('refuses what node-cron refuses', () => {
    assert.throws(() => plainFields('61 * * * *'));
  });
});
