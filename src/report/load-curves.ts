/**
 * Latency over load, seed 003's figure: the open-loop probe's p50, p99 and p99.9 over the load each level
 * achieved (received pps of the load; 0 at level idle), one curve per datapath entry and percentile. The
 * levels of one curve are the cases that differ only in their rate (an experiment's `rate` axis) or the
 * results of one `--rate idle,20k,max`.
 */
import type { CaseStats } from './cases.js';
import { streamSummaryOf } from './run-tables.js';
import type { Series } from './svg.js';

const PERCENTILES = [
  ['p50', (c: CaseStats) => c.rtt?.p50],
  ['p99', (c: CaseStats) => c.rtt?.p99],
  ['p99.9', (c: CaseStats) => c.rtt?.p999],
] as const;

/** A load case's curve: its label without the rate it ran at. */
function curveOf(label: string): string {
  return label.replace(/\s*\brate=\S+/, '').trim();
}

/** The load a case achieved, kpps received (mean over its repeats); 0 when no load sender ran (idle). */
function achievedKpps(c: CaseStats): number | null {
  const rates = c.runs
    .filter((r) => r.status !== 'failed')
    .map((r) => (r.workload === 'load' && r.summary?.level === 'idle' ? 0 : (streamSummaryOf(r)?.rx_pps ?? null)));
  const known = rates.filter((x): x is number => x !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) / known.length / 1000 : null;
}

/** The curves, or none when fewer than two levels of any curve were measured (a line needs two points). */
export function loadCurves(cases: readonly CaseStats[]): Series[] {
  const byCurve = new Map<string, Array<{ x: number; c: CaseStats }>>();
  for (const c of cases) {
    if (c.workload !== 'load' || !c.rtt) continue;
    const x = achievedKpps(c);
    if (x === null) continue;
    const key = curveOf(c.label);
    byCurve.set(key, [...(byCurve.get(key) ?? []), { x, c }]);
  }
  const series: Series[] = [];
  for (const [curve, points] of byCurve) {
    if (points.length < 2) continue;
    points.sort((a, b) => a.x - b.x);
    for (const [name, q] of PERCENTILES) {
      const ps = points.flatMap(({ x, c }) => {
        const v = q(c)?.value;
        return v === undefined ? [] : [[x, v / 1000] as [number, number]];
      });
      if (ps.length >= 2) series.push({ name: `${curve} ${name}`, points: ps });
    }
  }
  return series;
}
