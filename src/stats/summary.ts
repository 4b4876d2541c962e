import type { Histogram } from './histogram.js';

/** The RTT summary of the JSON contract (`rtt_ns`): integer nanoseconds. */
export interface RttSummary {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
  stddev: number;
}

export const SUMMARY_QUANTILES = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999, p9999: 0.9999 } as const;

/**
 * Summary from a histogram; mean and stddev come from exact moments when the engine computed
 * them over the raw samples, else from bucket midpoints (merged histograms).
 */
export function summarize(h: Histogram, exact?: { mean: number; stddev: number | null }): RttSummary | null {
  if (h.total === 0) return null;
  const r = (x: number) => (Number.isFinite(x) ? Math.round(x) : 0);
  return {
    min: r(h.min),
    mean: r(exact ? exact.mean : h.approxMean()),
    p50: r(h.valueAtQuantile(SUMMARY_QUANTILES.p50)),
    p90: r(h.valueAtQuantile(SUMMARY_QUANTILES.p90)),
    p99: r(h.valueAtQuantile(SUMMARY_QUANTILES.p99)),
    p999: r(h.valueAtQuantile(SUMMARY_QUANTILES.p999)),
    p9999: r(h.valueAtQuantile(SUMMARY_QUANTILES.p9999)),
    max: r(h.max),
    stddev: r(exact ? (exact.stddev ?? 0) : h.approxStddev()),
  };
}
