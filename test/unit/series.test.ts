import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateSeries, meanStddev, steadyState } from '../../src/stats/series.js';

const sec = (t: number, packets: number, ns = 1e9) => ({ t, ns, packets, bytes: packets * 64 });

describe('steady state', () => {
  it('drops the warm-up seconds and the partial last interval, then averages per-second rates', () => {
    const series = [sec(0, 10), sec(1, 50), sec(2, 100), sec(3, 110), sec(4, 90), sec(5, 7, 0.2e9)];
    const s = steadyState(series, 2e9)!;
    assert.equal(s.seconds, 3);
    assert.equal(s.pps, 100);
    assert.equal(s.pps_stddev, 10);
    assert.ok(Math.abs(s.gbps - (100 * 64 * 8) / 1e9) < 1e-12);
  });

  it('uses the exact interval length for the rate', () => {
    const s = steadyState([sec(0, 1100, 1.1e9)], 0)!;
    assert.equal(s.pps, 1000);
  });

  it('keeps order by t even if events arrived out of order, and returns null when nothing is steady', () => {
    assert.equal(steadyState([sec(1, 5), sec(0, 5)], 1e9)!.seconds, 1);
    assert.equal(steadyState([sec(0, 5), sec(1, 5, 0.1e9)], 1e9), null);
    assert.equal(steadyState([], 0), null);
  });

  it('mean and sample standard deviation', () => {
    assert.deepEqual(meanStddev([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, stddev: Math.sqrt(32 / 7) });
    assert.deepEqual(meanStddev([3]), { mean: 3, stddev: 0 });
  });
});

describe('several flows', () => {
  it("sums the flows' rates second by second, keeping only seconds every flow completed", () => {
    const a = [sec(0, 100), sec(1, 110, 1.1e9), sec(2, 5, 0.1e9)];
    const b = [sec(0, 50), sec(1, 60), sec(2, 70)];
    const agg = aggregateSeries([a, b]);
    assert.deepEqual(
      agg.map((x) => x.t),
      [0, 1],
    );
    assert.equal(agg[0]!.packets, 150);
    assert.equal(agg[1]!.packets, 160); // 110 over 1.1 s = 100/s, plus 60/s
    assert.equal(steadyState(agg, 0)!.pps, 155);
  });

  it(
    'over common wall-clock seconds: a flow that started half a second later is added where it ran, not by ' +
      'its own second index',
    () => {
      // Flow a runs 1000 pkt/s from 0 s to 4 s; flow b 1000 pkt/s from 0.5 s to 4.5 s.
      const at = (start: number, packets = 1000) => ({
        t: Math.round(start),
        start: start * 1e9,
        ns: 1e9,
        packets,
        bytes: packets * 64,
      });
      const a = [at(0), at(1), at(2), at(3)];
      const b = [0.5, 1.5, 2.5, 3.5].map((x, i) => ({ ...at(x), t: i }));
      const agg = aggregateSeries([a, b]);
      assert.deepEqual(
        agg.map((x) => x.t),
        [0, 1, 2, 3, 4],
      );
      // Second 0: a ran all of it at 1000/s, b half of it at 1000/s: 2000/s together. Second 4: only b ran.
      assert.deepEqual(
        agg.map((x) => x.packets),
        [2000, 2000, 2000, 2000, 1000],
      );
      assert.deepEqual(
        agg.map((x) => x.partial === true),
        [false, false, false, false, true],
      );
      assert.equal(steadyState(agg, 0)!.pps, 2000);
      const c = [at(0.9, 100), at(1.9, 100), at(2.9, 100)].map((x, i) => ({ ...x, t: i })); // 100/s from 0.9 s to 3.9 s
      const d = [at(0, 1000), at(1, 1000), at(2, 0), at(3, 0)]; // 1000/s for 2 s, then silent
      const byWall = aggregateSeries([c, d]);
      // c ran 0.1 s of second 0 (partial there); then 100/s beside d's 1000/s, then d's silence.
      assert.deepEqual(
        byWall.map((x) => x.partial === true),
        [true, false, false, false],
      );
      assert.deepEqual(
        byWall.filter((x) => !x.partial).map((x) => x.packets),
        [1100, 100, 100],
      );
      // By each flow's own index, c's second 2 (2.9–3.9 s) would be added to d's second 2 (2–3 s): the
      // index sum pairs seconds that never coincided.
    },
  );

  it('one flow is its own aggregate', () => {
    const a = [sec(0, 1), sec(1, 2)];
    assert.deepEqual(aggregateSeries([a]), a);
  });
});
