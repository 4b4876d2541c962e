/**
 * Several runs on one chart, as uPlot wants its data: one x column shared by every series, null where a
 * series has no point. A CDF is a step function, so between its own points a run's value is the last
 * one at or below x; a timeline is not, so it has values only at its own times.
 */
import { rttSummaryOf } from '../report/run-tables.js';
import { runTimeline } from '../report/timeline.js';
import type { RunRecord } from '../store/db.js';

export interface Overlay {
  x: number[];
  xLabel: string;
  yLabel: string;
  series: Array<{ name: string; values: Array<number | null> }>;
}

const nameOf = (r: RunRecord) => `${r.id} ${r.datapath} ${r.workload}${r.case_label ? ` ${r.case_label}` : ''}`;

/** The runs' latency CDFs (µs, fraction at or below), stepwise on the union of their points. */
export function cdfOverlay(runs: RunRecord[]): Overlay {
  const cdfs = runs.flatMap((r) => {
    const cdf = (r.summary as { cdf?: Array<[number, number]> } | null)?.cdf;
    return rttSummaryOf(r) && cdf?.length ? [{ name: nameOf(r), cdf }] : [];
  });
  const x = [...new Set(cdfs.flatMap((c) => c.cdf.map(([ns]) => ns)))].sort((a, b) => a - b);
  const series = cdfs.map((c) => {
    let k = -1;
    const values = x.map((v) => {
      while (k + 1 < c.cdf.length && c.cdf[k + 1]![0] <= v) k++;
      return k < 0 ? 0 : c.cdf[k]![1];
    });
    return { name: c.name, values };
  });
  return { x: x.map((ns) => ns / 1000), xLabel: 'latency, µs', yLabel: 'fraction at or below', series };
}

/** Each run's first panel's main column (latency p99, or the rate received) over its own time since start. */
export function timelineOverlay(runs: RunRecord[]): Overlay {
  const lines = runs.flatMap((r) => {
    const panel = runTimeline(r)?.panels.find((p) => p.id !== 'cpu');
    const col = panel?.columns.find((c) => c.name === 'p99' || c.name === 'received');
    return panel && col ? [{ name: `${nameOf(r)} ${col.name}`, unit: col.unit, t: panel.t_s, v: col.values }] : [];
  });
  const x = [...new Set(lines.flatMap((l) => l.t.map((t) => Number(t.toFixed(3)))))].sort((a, b) => a - b);
  const series = lines.map((l) => {
    const at = new Map(l.t.map((t, i) => [Number(t.toFixed(3)), l.v[i] ?? null]));
    return { name: l.name, values: x.map((t) => at.get(t) ?? null) };
  });
  const units = [...new Set(lines.map((l) => l.unit))];
  return { x, xLabel: 's since the engine started', yLabel: units.join(' / ') || '–', series };
}
