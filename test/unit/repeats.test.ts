import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from '../../src/stats/histogram.js';
import { meanCi, prng, quantileCi, studentCdf, t975, welch } from '../../src/stats/repeats.js';

describe('statistics across repeats', () => {
  it('mean ± standard error and a Student-t 95 % interval', () => {
    const m = meanCi([10, 12, 14]);
    assert.equal(m.mean, 12);
    assert.equal(m.sd, 2);
    assert.ok(Math.abs(m.se! - 2 / Math.sqrt(3)) < 1e-12);
    assert.ok(Math.abs(m.ci95![1] - (12 + 4.303 * (2 / Math.sqrt(3)))) < 1e-9);
    assert.deepEqual(meanCi([5]), { n: 1, mean: 5, sd: null, se: null, ci95: null });
    assert.equal(meanCi([5, 7]).ci95, null, 'two repeats: no interval');
    // A rate cannot be negative: its interval is cut at 0 (was "−35.0–89.4 kpps").
    assert.equal(meanCi([1, 2, 90]).ci95![0], 0);
    assert.ok(meanCi([1, 2, 90], { nonNegative: false }).ci95![0] < 0);
    assert.equal(t975(100) > 1.96 && t975(100) < 1.99, true);
  });

  it("Student's t CDF and Welch's test against known values", () => {
    // t = 2.228 with 10 df is the 97.5 % quantile
    assert.ok(Math.abs(studentCdf(2.228, 10) - 0.975) < 5e-4);
    assert.ok(Math.abs(studentCdf(0, 7) - 0.5) < 1e-12);
    assert.ok(Math.abs(studentCdf(-1.812, 10) - 0.05) < 5e-4);
    // Two clearly different samples, and two of the same distribution.
    const w = welch([100, 102, 98, 101, 99], [110, 112, 108, 111, 109])!;
    assert.ok(w.p < 1e-4, `p ${w.p}`);
    assert.ok(welch([100, 102, 98], [101, 99, 100])!.p > 0.5);
    assert.equal(welch([1], [2, 3]), null, 'one run: no test');
  });

  it('percentile intervals: over repeats when there are several runs, over samples for one; reproducible', () => {
    const run = (center: number, n = 5000, seed = 1) => {
      const h = new Histogram();
      const r = prng(seed);
      for (let i = 0; i < n; i++) h.record(Math.round(center + (r() - 0.5) * 2000));
      return h;
    };
    const one = quantileCi([run(50_000)], 0.5)!;
    assert.equal(one.method, 'within-run');
    assert.ok(one.ci95![0] <= one.value && one.value <= one.ci95![1]);
    assert.ok(one.ci95![1] - one.ci95![0] < 200, 'n = 5000: a narrow interval');
    // Two runs: no interval at all (a min–max of two values is no 95 % interval).
    const two = quantileCi([run(40_000, 5000, 1), run(60_000, 5000, 2)], 0.5)!;
    assert.equal(two.method, 'too-few-repeats');
    assert.equal(two.ci95, null);
    // Runs that disagree: the interval over repeats must be wide enough to say so.
    const runs = [run(40_000, 5000, 1), run(50_000, 5000, 2), run(60_000, 5000, 3)];
    const many = quantileCi(runs, 0.5)!;
    assert.equal(many.method, 'repeats');
    assert.ok(many.ci95![1] - many.ci95![0] > 10_000, JSON.stringify(many));
    assert.equal(many.per_run!.length, 3);
    assert.deepEqual(quantileCi(runs, 0.5), many, 'the same data give the same interval');
    assert.equal(quantileCi([new Histogram()], 0.5), null);
  });
});
