/**
 * Per-second series → steady state. The engine reports each second's counters with the exact length
 * of the interval; seconds that start inside the warm-up are discarded, as is a partial last (or
 * first) interval, and the rest are averaged (seed 001: 20 s warm-up, per-second rates averaged).
 */
export interface Interval {
  t: number;
  ns: number;
  packets: number;
  bytes: number;
}

export interface SteadyState {
  /** seconds that counted */
  seconds: number;
  pps: number;
  pps_stddev: number;
  gbps: number;
  gbps_stddev: number;
}

/** An interval shorter than this is a partial one (the end of a run). */
const MIN_INTERVAL_NS = 0.5e9;

export function meanStddev(xs: readonly number[]): { mean: number; stddev: number } {
  if (xs.length === 0) return { mean: NaN, stddev: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return { mean, stddev: 0 };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { mean, stddev: Math.sqrt(ss / (xs.length - 1)) };
}

export function steadyState(series: readonly Interval[], warmupNs: number): SteadyState | null {
  let start = 0;
  const kept: Interval[] = [];
  for (const iv of [...series].sort((a, b) => a.t - b.t)) {
    if (start >= warmupNs && iv.ns >= MIN_INTERVAL_NS) kept.push(iv);
    start += iv.ns;
  }
  if (kept.length === 0) return null;
  const pps = meanStddev(kept.map((iv) => (iv.packets * 1e9) / iv.ns));
  const gbps = meanStddev(kept.map((iv) => (iv.bytes * 8) / iv.ns));
  return { seconds: kept.length, pps: pps.mean, pps_stddev: pps.stddev, gbps: gbps.mean, gbps_stddev: gbps.stddev };
}

/**
 * The aggregate of several flows' series: second t's rate is the sum of every flow's rate in its
 * second t (each normalised by its exact length). A second is kept only where every flow has a
 * whole one, so a flow that started late or ended early never dilutes the aggregate.
 */
export function aggregateSeries(flows: ReadonlyArray<readonly Interval[]>): Interval[] {
  if (flows.length === 1) return [...flows[0]!];
  const byT = flows.map((f) => new Map(f.map((iv) => [iv.t, iv])));
  const ts = [...new Set(flows.flatMap((f) => f.map((iv) => iv.t)))].sort((a, b) => a - b);
  const out: Interval[] = [];
  for (const t of ts) {
    const ivs = byT.map((m) => m.get(t));
    if (ivs.some((iv) => !iv || iv.ns < MIN_INTERVAL_NS)) continue;
    out.push({
      t,
      ns: 1e9,
      packets: ivs.reduce((a, iv) => a + (iv!.packets * 1e9) / iv!.ns, 0),
      bytes: ivs.reduce((a, iv) => a + (iv!.bytes * 1e9) / iv!.ns, 0),
    });
  }
  return out;
}
