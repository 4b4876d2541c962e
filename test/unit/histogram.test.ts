import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, bucketHighest, bucketIndex, bucketLowest } from '../../src/stats/histogram.js';
import { summarize } from '../../src/stats/summary.js';

/** A deterministic PRNG so a failure reproduces. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function nearestRank(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('histogram indexing', () => {
  it('matches the engine (engine/test/test_hist.c uses the same vectors)', () => {
    assert.equal(bucketIndex(2047), 2047);
    assert.equal(bucketIndex(2048), 2048);
    assert.equal(bucketIndex(2049), 2048);
    assert.equal(bucketIndex(4095), 3071);
    assert.equal(bucketIndex(4096), 3072);
    assert.equal(bucketIndex(1_000_000), 11169);
  });

  it('puts every value inside its bucket, with contiguous buckets', () => {
    for (let v = 0; v < 5e9; v = v + 1 + Math.floor(v / 613)) {
      const i = bucketIndex(v);
      assert.ok(bucketLowest(i) <= v && v <= bucketHighest(i), `value ${v} outside bucket ${i}`);
    }
    for (let i = 0; i < 40000; i++) assert.equal(bucketHighest(i) + 1, bucketLowest(i + 1));
  });

  it('is exact at powers of two, where log2 rounding could misplace values', () => {
    for (let e = 11; e < 50; e++) {
      for (const v of [2 ** e - 1, 2 ** e, 2 ** e + 1]) {
        const i = bucketIndex(v);
        assert.ok(bucketLowest(i) <= v && v <= bucketHighest(i), `2^${e} neighbour ${v}`);
      }
    }
  });
});

describe('percentiles', () => {
  for (const [name, gen] of [
    ['uniform 10µs..60µs', (r: () => number) => Math.floor(10_000 + r() * 50_000)],
    ['heavy tail (RTT-like)', (r: () => number) => Math.floor(20_000 / Math.max(1e-4, r()) ** 0.7)],
    ['tiny values (exact range)', (r: () => number) => Math.floor(r() * 3000)],
  ] as const) {
    it(`agree with a brute-force sort: ${name}`, () => {
      const rand = lcg(42);
      const values = Array.from({ length: 100_000 }, () => gen(rand));
      const h = new Histogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999]) {
        const exact = nearestRank(sorted, q);
        const got = h.valueAtQuantile(q);
        const i = bucketIndex(exact);
        // The reported value is in the same bucket as the true order statistic: within 1/2048.
        assert.ok(got >= bucketLowest(i) && got <= bucketHighest(i), `q=${q}: got ${got}, exact ${exact}`);
        assert.ok(Math.abs(got - exact) <= Math.max(1, exact / 1024), `q=${q}: got ${got}, exact ${exact}`);
      }
      assert.equal(h.min, sorted[0]);
      assert.equal(h.max, sorted[sorted.length - 1]);
      assert.equal(h.valueAtQuantile(1), sorted[sorted.length - 1]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(Math.abs(h.approxMean() - mean) / mean < 1e-3);
    });
  }

  it('merging histograms equals recording all values in one (pooled percentiles)', () => {
    const rand = lcg(7);
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 20000; i++) {
      const v = Math.floor(5000 + rand() * 1e6);
      (i % 3 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    for (const q of [0.5, 0.99, 0.9999]) assert.equal(a.valueAtQuantile(q), all.valueAtQuantile(q));
    assert.equal(a.total, 20000);
  });

  it('round-trips through the store encoding', () => {
    const rand = lcg(3);
    const h = new Histogram();
    for (let i = 0; i < 5000; i++) h.record(Math.floor(rand() * 1e7));
    const back = Histogram.decode(h.encode());
    assert.equal(back.total, h.total);
    assert.equal(back.min, h.min);
    assert.equal(back.max, h.max);
    for (const q of [0.1, 0.5, 0.99]) assert.equal(back.valueAtQuantile(q), h.valueAtQuantile(q));
  });

  it('builds from the engine payload with exact extremes', () => {
    const h = Histogram.fromEngine(
      {
        sub_bits: 11,
        buckets: [
          [2048, 3],
          [11169, 1],
        ],
      },
      { min: 2049, max: 1_000_100 },
    );
    assert.equal(h.total, 4);
    assert.equal(h.min, 2049);
    assert.equal(h.max, 1_000_100);
    assert.equal(h.valueAtQuantile(0.5), 2049); // bucket [2048, 2049], clamped to the exact min
  });

  it('gives a monotonic CDF that ends at 1 and keeps the tail', () => {
    const rand = lcg(11);
    const h = new Histogram();
    for (let i = 0; i < 50000; i++) h.record(Math.floor(10_000 / Math.max(1e-5, rand())));
    const cdf = h.cdf(200);
    assert.ok(cdf.length <= 200);
    for (let i = 1; i < cdf.length; i++) {
      assert.ok(cdf[i]![0] > cdf[i - 1]![0]);
      assert.ok(cdf[i]![1] >= cdf[i - 1]![1]);
    }
    assert.equal(cdf[cdf.length - 1]![1], 1);
    assert.equal(cdf[cdf.length - 1]![0], h.max);
  });

  it('summarizes with exact moments when given, and handles an empty histogram', () => {
    const h = new Histogram();
    assert.equal(summarize(h), null);
    for (const v of [10, 20, 30]) h.record(v);
    const s = summarize(h, { mean: 20.4, stddev: 10 })!;
    assert.deepEqual([s.min, s.mean, s.p50, s.max, s.stddev], [10, 20, 20, 30, 10]);
  });

  it('rejects values that are not non-negative integers', () => {
    assert.throws(() => new Histogram().record(-1), RangeError);
    assert.throws(() => new Histogram().record(1.5), RangeError);
  });
});
