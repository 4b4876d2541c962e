/**
 * Statistics across the repeats of a case: pooled percentiles from merged histograms (never averaged
 * percentiles), mean ± standard error and a Student-t confidence interval for per-run figures
 * (throughput), bootstrap intervals for percentiles, and Welch's test for "is this difference real".
 */
import { Histogram } from './histogram.js';

export interface MeanCi {
  n: number;
  mean: number;
  /** sample standard deviation (null with one value) */
  sd: number | null;
  /** standard error of the mean */
  se: number | null;
  /** 95 % confidence interval of the mean (Student t); null with one value */
  ci95: [number, number] | null;
}

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function t975(df: number): number {
  if (df < 1) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1]!;
  return 1.96 + 2.4 / df; // within 0.3 % of the true quantile above 30
}

export function meanCi(values: readonly number[]): MeanCi {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: null, se: null, ci95: null };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: null, se: null, ci95: null };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  const h = t975(n - 1) * se;
  return { n, mean, sd, se, ci95: [mean - h, mean + h] };
}

/** Welch's t-test: the two-sided p-value that two means differ (normal approximation of t above 30 df). */
export function welch(a: readonly number[], b: readonly number[]): { t: number; df: number; p: number } | null {
  const A = meanCi(a);
  const B = meanCi(b);
  if (A.sd === null || B.sd === null) return null;
  const va = A.sd ** 2 / A.n;
  const vb = B.sd ** 2 / B.n;
  if (va + vb === 0) return { t: A.mean === B.mean ? 0 : Infinity, df: A.n + B.n - 2, p: A.mean === B.mean ? 1 : 0 };
  const t = (A.mean - B.mean) / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (A.n - 1) + vb ** 2 / (B.n - 1));
  return { t, df, p: 2 * (1 - studentCdf(Math.abs(t), df)) };
}

/** CDF of Student's t (regularized incomplete beta by continued fraction). */
export function studentCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const ib = incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - ib / 2 : ib / 2;
}

function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnBeta = lgamma(a) + lgamma(b) - lgamma(a + b);
  const front = Math.exp(Math.log(x) * a + Math.log(1 - x) * b - lnBeta) / a;
  // Lentz's continued fraction
  let f = 1, c = 1, d = 0;
  for (let i = 0; i <= 300; i++) {
    const m = Math.floor(i / 2);
    let num: number;
    if (i === 0) num = 1;
    else if (i % 2 === 0) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num * d;
    d = Math.abs(d) < 1e-30 ? 1e-30 : d;
    d = 1 / d;
    c = 1 + num / c;
    c = Math.abs(c) < 1e-30 ? 1e-30 : c;
    const cd = c * d;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-10) break;
  }
  return x < (a + 1) / (a + b + 2) ? front * (f - 1) : 1 - incompleteBeta(1 - x, b, a);
}

function lgamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9)
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lgamma(1 - z);
  z -= 1;
  let x = g[0]!;
  for (let i = 1; i < 9; i++) x += g[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

/** A small seeded PRNG (mulberry32): the same data give the same interval, run after run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface QuantileCi {
  value: number;
  ci95: [number, number];
  /** 'repeats': runs resampled (run-to-run variation, 1000 resamples); 'samples': one run, its samples */
  method: 'repeats' | 'samples';
}

/**
 * The pooled q-quantile of several runs' histograms, with a 95 % bootstrap interval. With two or more
 * runs the runs are resampled (what varies between runs is what matters when comparing datapaths);
 * with one, the samples are — for which the bootstrap distribution of a quantile is known exactly
 * (the number of resampled values below x_(j) is Binomial(n, j/n)), so it is computed, not drawn.
 */
export function quantileCi(runs: readonly Histogram[], q: number, resamples = 1000): QuantileCi | null {
  const pooled = new Histogram();
  for (const h of runs) pooled.merge(h);
  if (pooled.total === 0) return null;
  const value = pooled.valueAtQuantile(q);
  if (runs.length >= 2) {
    const rnd = prng(0x5eed + Math.round(q * 1e6));
    const stats: number[] = [];
    for (let b = 0; b < resamples; b++) {
      const h = new Histogram();
      for (let i = 0; i < runs.length; i++) h.merge(runs[Math.floor(rnd() * runs.length)]!);
      stats.push(h.valueAtQuantile(q));
    }
    stats.sort((x, y) => x - y);
    return { value, ci95: [stats[Math.floor(0.025 * resamples)]!, stats[Math.ceil(0.975 * resamples) - 1]!], method: 'repeats' };
  }
  const n = pooled.total;
  const half = 1.96 * Math.sqrt((q * (1 - q)) / n);
  return { value, ci95: [pooled.valueAtQuantile(Math.max(0, q - half)), pooled.valueAtQuantile(Math.min(1, q + half))], method: 'samples' };
}
