/**
 * Do the intervals and `compare`'s verdicts mean what they say? Simulated: runs whose percentile
 * varies from run to run (as real runs do), compared when both sides come from the same distribution
 * (every "significant" is a false positive) and when one is shifted (every "significant" is power).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caseStats } from '../../src/report/cases.js';
import { compareCases } from '../../src/report/compare.js';
import { Histogram } from '../../src/stats/histogram.js';
import { differs, prng, quantileCi } from '../../src/stats/repeats.js';
import type { RunRecord } from '../../src/store/db.js';
import { rttRunSummary } from '../helpers/records.js';

/** A run: 200 RTTs around a centre that itself varies between runs (sd 10 % of 50 µs). */
function runOf(rnd: () => number, shift: number): Histogram {
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const centre = 50_000 + shift + 5_000 * gauss();
  const h = new Histogram();
  for (let i = 0; i < 200; i++) h.record(Math.max(1000, Math.round(centre + 2_000 * gauss())));
  return h;
}

function rate(repeats: number, shift: number, trials: number, seed: number): number {
  const rnd = prng(seed);
  let hits = 0;
  for (let t = 0; t < trials; t++) {
    const a = quantileCi(
      Array.from({ length: repeats }, () => runOf(rnd, 0)),
      0.5,
    )!;
    const b = quantileCi(
      Array.from({ length: repeats }, () => runOf(rnd, shift)),
      0.5,
    )!;
    if (differs(a.per_run, b.per_run).significant) hits++;
  }
  return hits / trials;
}

describe('intervals and compare, simulated', () => {
  for (const repeats of [3, 5, 10]) {
    it(`identical distributions, ${repeats} repeats each: at most 6 % called significant (2000 comparisons)`, () => {
      const fp = rate(repeats, 0, 2000, 1000 + repeats);
      assert.ok(fp <= 0.06, `false-positive rate ${(fp * 100).toFixed(1)} %`);
    });
  }

  it(
    'a shift of 1.5 run-to-run standard deviations (7.5 µs on 50 µs), 10 repeats each: found at least 80 % ' +
      'of the time',
    () => {
      const power = rate(10, 7_500, 1000, 77);
      assert.ok(power >= 0.8, `power ${(power * 100).toFixed(1)} %`);
    },
  );

  it('the 95 % interval over repeats covers the true median per run about 95 % of the time', () => {
    const rnd = prng(5);
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      const ci = quantileCi(
        Array.from({ length: 5 }, () => runOf(rnd, 0)),
        0.5,
      )!.ci95!;
      if (ci[0] <= 50_000 && 50_000 <= ci[1]) covered++;
    }
    assert.ok(
      covered / trials >= 0.92 && covered / trials <= 0.98,
      `coverage ${((covered / trials) * 100).toFixed(1)} %`,
    );
  });

  it('compare never calls a difference significant from one run each (within-run intervals), however large', () => {
    const rec = (label: string, h: Histogram): RunRecord => ({
      id: label,
      batch_id: 'b',
      created_at: '2026-11-29T00:00:00Z',
      datapath: label,
      workload: 'rtt',
      params: {},
      topology: {},
      env: {},
      status: 'ok',
      problem: null,
      samples: h.total,
      lost: 0,
      summary: rttRunSummary({ p50: h.valueAtQuantile(0.5) }),
      engine: null,
      histogram: h.encode(),
      raw: null,
      series: null,
    });
    const rnd = prng(9);
    const a = caseStats('a', [rec('a', runOf(rnd, 0))]);
    const b = caseStats('b', [rec('b', runOf(rnd, 40_000))]);
    const { rows, text } = compareCases([a], [b], 'A', 'B');
    assert.ok(rows.length > 0);
    for (const r of rows) assert.equal(r.significant, null, JSON.stringify(r));
    assert.match(text, /n\/a \(needs ≥ 3 repeats each\)/);
  });
});
