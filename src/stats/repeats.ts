/**
 * Statistics across the repeats of a case: pooled percentiles from merged histograms (never averaged
 * percentiles), mean ± standard error and a Student-t confidence interval for per-run figures
 * (throughput, and each run's own percentile), and Welch's test for "is this difference real".
 *
 * What varies between runs of one datapath (2–3× between rounds on a small VM) dwarfs what varies
 * within one run, so an interval that claims to say where a datapath's figure lies must come from
 * repeats: with fewer than MIN_REPEATS it is not given (null), and a one-run interval over samples is
 * labelled 'within-run' and never decides a comparison. The coverage and false-positive rate of this
 * are simulated in test/unit/intervals.test.ts.
 */
import { Histogram } from './histogram.js';

export interface MeanCi {
  n: number;
  mean: number;
  /** sample standard deviation (null with one value) */
  sd: number | null;
  /** standard error of the mean */
  se: number | null;
  /** 95 % confidence interval of the mean (Student t); null below MIN_REPEATS values */
  ci95: [number, number] | null;
}

/** Repeats needed before an interval over repeats is given. */
export const MIN_REPEATS = 3;

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function t975(df: number): number {
  if (df < 1) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1]!;
  return 1.96 + 2.4 / df; // within 0.3 % of the true quantile above 30
}

/**
 * Mean, standard deviation, standard error and the Student-t 95 % interval of the mean (from
 * MIN_REPEATS values on). A quantity that cannot be negative (rates, latencies, ratios) gets no
 * negative bound: the interval is cut at 0 (`nonNegative`, the default).
 */
export function meanCi(values: readonly number[], o: { nonNegative?: boolean } = {}): MeanCi {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, sd: null, se: null, ci95: null };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: null, se: null, ci95: null };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  if (n < MIN_REPEATS) return { n, mean, sd, se, ci95: null };
  const h = t975(n - 1) * se;
  const lo = o.nonNegative === false ? mean - h : Math.max(0, mean - h);
  return { n, mean, sd, se, ci95: [lo, mean + h] };
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
  let f = 1,
    c = 1,
    d = 0;
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
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
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
  /** the q-quantile of the runs' histograms merged */
  value: number;
  /** 95 % interval; null with 2 runs (too few repeats for an interval that means anything) */
  ci95: [number, number] | null;
  /**
   * 'repeats': Student t over each run's own q-quantile (run-to-run variation); 'within-run': one run,
   * the sampling interval of its quantile (says nothing of another run); 'too-few-repeats': 2 runs
   */
  method: 'repeats' | 'within-run' | 'too-few-repeats';
  /** each run's own q-quantile (what comparisons test), with MIN_REPEATS runs or more */
  per_run?: number[];
}

/**
 * The pooled q-quantile of several runs' histograms, with a 95 % interval. From MIN_REPEATS runs
 * on: a Student-t interval over the runs' own q-quantiles. One run: the sampling interval of the
 * quantile (the number of samples below x_(j) is Binomial(n, j/n)), labelled within-run. Two runs:
 * no interval.
 */
export function quantileCi(runs: readonly Histogram[], q: number): QuantileCi | null {
  const pooled = new Histogram();
  for (const h of runs) pooled.merge(h);
  if (pooled.total === 0) return null;
  const value = pooled.valueAtQuantile(q);
  const measured = runs.filter((h) => h.total > 0);
  if (measured.length >= MIN_REPEATS) {
    const perRun = measured.map((h) => h.valueAtQuantile(q));
    return { value, ci95: meanCi(perRun).ci95, method: 'repeats', per_run: perRun };
  }
  if (measured.length === 2) return { value, ci95: null, method: 'too-few-repeats' };
  const n = pooled.total;
  const half = 1.96 * Math.sqrt((q * (1 - q)) / n);
  return {
    value,
    ci95: [pooled.valueAtQuantile(Math.max(0, q - half)), pooled.valueAtQuantile(Math.min(1, q + half))],
    method: 'within-run',
  };
}

/**
 * Whether two cases' figures differ: Welch's test over per-repeat values, p < 0.05, only with
 * MIN_REPEATS repeats on each side; otherwise null (not decided) with the reason.
 */
export function differs(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
): { significant: boolean | null; how: string } {
  if (!a || !b || a.length < MIN_REPEATS || b.length < MIN_REPEATS)
    return { significant: null, how: `n/a (needs ≥ ${MIN_REPEATS} repeats each)` };
  const w = welch(a, b);
  if (!w) return { significant: null, how: `n/a (needs ≥ ${MIN_REPEATS} repeats each)` };
  return { significant: w.p < 0.05, how: `Welch p = ${w.p.toPrecision(2)} over ${a.length}+${b.length} repeats` };
}
