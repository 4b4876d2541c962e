import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { maxSustained, senderLimited, type SweepParams } from '../../src/workloads/sweep.js';
import { UserError } from '../../src/util/errors.js';
import { parsePercent, parseRateList } from '../../src/util/units.js';

describe('rate sweep', () => {
  it('parses a list and a linear range of offered rates', () => {
    assert.deepEqual(parseRateList('200k,50k,1.5M', '--rate'), [50_000, 200_000, 1_500_000]);
    assert.deepEqual(parseRateList('100k..500k:5', '--rate'), [100_000, 200_000, 300_000, 400_000, 500_000]);
    for (const bad of ['100k..50k:3', '1k..2k:1', '0,10k', '10k,10k', 'fast'])
      assert.throws(() => parseRateList(bad, '--rate'), UserError, bad);
  });

  it('parses the loss threshold as a percentage or a ratio', () => {
    assert.equal(parsePercent('0.1%', 'x'), 0.001);
    assert.equal(parsePercent('0.02', 'x'), 0.02);
    assert.throws(() => parsePercent('100%', 'x'), /between 0 and 100/);
    assert.throws(() => parsePercent('lots', 'x'), /expected a ratio/);
  });

  it(
    'the maximum sustained rate: the highest offered rate the sender reached with loss under the ' +
      'threshold, reported as received',
    () => {
      const pt = (
        offered_pps: number,
        loss_ratio: number,
        rx: number | null = offered_pps * (1 - loss_ratio),
        tx: number | null = offered_pps,
      ) => ({
        offered_pps,
        tx_pps: tx,
        rx_pps: rx,
        loss_ratio,
        sender_limited: senderLimited(offered_pps, tx, 0.02),
      });
      assert.deepEqual(maxSustained([pt(100, 0), pt(200, 0.0005), pt(300, 0.02)], 0.001), {
        offered_pps: 200,
        rx_pps: 199.9,
      });
      assert.equal(maxSustained([pt(100, 0.5), pt(200, 0.6)], 0.001), null);
      assert.equal(maxSustained([pt(100, 0, null)], 0.001), null, 'a point without a steady state proves nothing');
      // A sender that only reached 150 of 300 offered: no loss, but it never offered 300 — not sustained.
      const limited = pt(300, 0, 150, 150);
      assert.equal(limited.sender_limited, true);
      assert.deepEqual(maxSustained([pt(100, 0), limited], 0.001), { offered_pps: 100, rx_pps: 100 });
      assert.equal(maxSustained([limited], 0.001), null);
      // Within the limit (2 %) the sender counts as having offered the rate; an unmeasured send rate never does.
      assert.equal(senderLimited(1000, 985, 0.02), false);
      assert.equal(senderLimited(1000, 979, 0.02), true);
      assert.equal(senderLimited(1000, null, 0.02), null);
      assert.equal(maxSustained([pt(100, 0, 100, null)], 0.001), null);
    },
  );

  it('quick --workload sweep: one sweep job per API, the rate list, and errors', () => {
    const a = parseQuickArgs([
      'veth',
      '--workload',
      'sweep',
      '--api',
      'send,raw-mmsg',
      '--burst',
      '16',
      '--rate',
      '100k..300k:3',
      '--loss-threshold',
      '1%',
    ]);
    assert.ok(a !== 'help');
    const jobs = a.jobs.map((j) => (assert.equal(j.workload, 'sweep'), j.params as SweepParams));
    assert.deepEqual(
      jobs.map((j) => j.api),
      ['send', 'raw-mmsg'],
    );
    assert.deepEqual(jobs[0]!.rates, [100_000, 200_000, 300_000]);
    assert.equal(jobs[0]!.lossThreshold, 0.01);
    assert.equal(jobs[0]!.burst, 16);
    assert.equal(jobs[0]!.senderLimit, 0.02);
    assert.equal(
      (
        parseQuickArgs(['veth', '--workload', 'sweep', '--rate', '10k', '--sender-limit', '5%']) as {
          jobs: Array<{ params: SweepParams }>;
        }
      ).jobs[0]!.params.senderLimit,
      0.05,
    );
    assert.throws(() => parseQuickArgs(['veth', '--workload', 'sweep']), /needs --rate/);
    assert.throws(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--loss-threshold', '1%']),
      /does not apply to --workload stream/,
    );
    assert.equal(
      (parseQuickArgs(['veth', '--workload', 'sweep', '--rate', '10k']) as { jobs: Array<{ params: SweepParams }> })
        .jobs[0]!.params.lossThreshold,
      0.001,
    );
  });
});
