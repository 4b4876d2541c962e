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
  /** CLOCK_MONOTONIC ns at the interval's start (absent in older stored series) */
  start?: number;
  /** an aggregate second that not every flow covered: shown, never averaged */
  partial?: boolean;
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
    if (start >= warmupNs && iv.ns >= MIN_INTERVAL_NS && !iv.partial) kept.push(iv);
    start += iv.ns;
  }
  if (kept.length === 0) return null;
  const pps = meanStddev(kept.map((iv) => (iv.packets * 1e9) / iv.ns));
  const gbps = meanStddev(kept.map((iv) => (iv.bytes * 8) / iv.ns));
  return { seconds: kept.length, pps: pps.mean, pps_stddev: pps.stddev, gbps: gbps.mean, gbps_stddev: gbps.stddev };
}

/**
 * The aggregate of several flows' series, over common wall-clock seconds: flows start at different
 * moments, so "second t" of one flow is not "second t" of another. Second k of the aggregate is
 * [t0 + k s, t0 + (k+1) s) from the earliest flow's start; in it, each flow's rate is what it moved
 * there over the time it ran there (its intervals apportioned by overlap), and the aggregate is the
 * sum of those rates. A second in which some flow ran less than half of it is marked partial — shown,
 * never averaged. Series without start stamps (stored by an older cnperf) are added by index.
 */
export function aggregateSeries(flows: ReadonlyArray<readonly Interval[]>): Interval[] {
  if (flows.length === 1) return [...flows[0]!];
  if (flows.some((f) => f.length === 0 || f.some((iv) => iv.start === undefined))) return aggregateByIndex(flows);
  const t0 = Math.min(...flows.map((f) => Math.min(...f.map((iv) => iv.start!))));
  const end = Math.max(...flows.map((f) => Math.max(...f.map((iv) => iv.start! + iv.ns))));
  const bins = Math.ceil((end - t0) / 1e9);
  // per flow and second: packets, bytes and the ns the flow ran in that second
  const acc = flows.map(() => Array.from({ length: bins }, () => ({ packets: 0, bytes: 0, ns: 0 })));
  flows.forEach((f, i) => {
    for (const iv of f) {
      if (iv.ns <= 0) continue;
      const a = iv.start! - t0;
      const b = a + iv.ns;
      for (let k = Math.floor(a / 1e9); k < bins && k * 1e9 < b; k++) {
        const overlap = Math.min(b, (k + 1) * 1e9) - Math.max(a, k * 1e9);
        const cell = acc[i]![k]!;
        cell.packets += (iv.packets * overlap) / iv.ns;
        cell.bytes += (iv.bytes * overlap) / iv.ns;
        cell.ns += overlap;
      }
    }
  });
  return Array.from({ length: bins }, (_, k) => {
    const cells = acc.map((f) => f[k]!);
    const rate = (x: 'packets' | 'bytes') => cells.reduce((sum, c) => sum + (c.ns > 0 ? (c[x] * 1e9) / c.ns : 0), 0);
    const bin: Interval = {
      t: k,
      start: t0 + k * 1e9,
      ns: 1e9,
      packets: Math.round(rate('packets')),
      bytes: Math.round(rate('bytes')),
    };
    if (cells.some((c) => c.ns < MIN_INTERVAL_NS)) bin.partial = true;
    return bin;
  });
}

/** Older series without start stamps: second t of every flow added, kept where every flow has a whole one. */
function aggregateByIndex(flows: ReadonlyArray<readonly Interval[]>): Interval[] {
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
