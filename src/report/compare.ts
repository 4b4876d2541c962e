/**
 * Two sets of cases side by side (two experiments, two runs), matched by case label — or, for two
 * single runs, the one against the other — with a verdict per figure: Welch's test over the repeats
 * (each run's own percentile, or its throughput), p < 0.05, from 3 repeats on each side. Fewer
 * repeats, or one run's within-run interval, decide nothing: the verdict is n/a.
 */
import { differs } from '../stats/repeats.js';
import { streamSummaryOf } from './run-tables.js';
import type { CaseStats } from './cases.js';
import { renderTable } from './table.js';

export interface ComparisonRow {
  case: string;
  figure: string;
  a: number;
  b: number;
  change: number;
  significant: boolean | null;
  how: string;
}

export function compareCases(
  A: CaseStats[],
  B: CaseStats[],
  nameA: string,
  nameB: string,
): { rows: ComparisonRow[]; text: string } {
  const pairs: Array<[string, CaseStats, CaseStats]> = [];
  if (A.length === 1 && B.length === 1 && A[0]!.label !== B[0]!.label)
    pairs.push([`${A[0]!.label} vs ${B[0]!.label}`, A[0]!, B[0]!]);
  else
    for (const a of A) {
      const b = B.find((x) => x.label === a.label);
      if (b) pairs.push([a.label, a, b]);
    }
  const rows: ComparisonRow[] = [];
  for (const [label, a, b] of pairs) {
    for (const q of ['p50', 'p99', 'p999'] as const) {
      const x = a.rtt?.[q];
      const y = b.rtt?.[q];
      if (!x || !y) continue;
      const d = differs(x.per_run, y.per_run);
      rows.push({
        case: label,
        figure: `RTT ${q}, µs`,
        a: x.value / 1000,
        b: y.value / 1000,
        change: y.value / x.value - 1,
        ...d,
      });
    }
    if (a.rx_pps && b.rx_pps) {
      const ra = a.runs
        .map(streamSummaryOf)
        .map((s) => s?.rx_pps)
        .filter((v): v is number => typeof v === 'number');
      const rb = b.runs
        .map(streamSummaryOf)
        .map((s) => s?.rx_pps)
        .filter((v): v is number => typeof v === 'number');
      rows.push({
        case: label,
        figure: 'rx kpps',
        a: a.rx_pps.mean / 1000,
        b: b.rx_pps.mean / 1000,
        change: b.rx_pps.mean / a.rx_pps.mean - 1,
        ...differs(ra, rb),
      });
    }
  }
  const text = rows.length
    ? `${nameA} (A) vs ${nameB} (B)\n${renderTable(
        ['case', 'figure', 'A', 'B', 'B/A − 1', 'significant', 'test'],
        rows.map((r) => [
          r.case,
          r.figure,
          r.a.toFixed(1),
          r.b.toFixed(1),
          `${(r.change * 100).toFixed(1)} %`,
          r.significant === null ? 'n/a' : r.significant ? 'yes' : 'no',
          r.how,
        ]),
        [0, 1, 6],
      )}`
    : `${nameA} and ${nameB} have no case in common (cases are matched by label)`;
  return { rows, text };
}
