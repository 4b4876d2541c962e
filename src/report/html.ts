/**
 * One self-contained HTML report of stored runs (an experiment, or any runs): tables with the
 * statistics across repeats, charts as inline SVG, and the environment of every run. Nothing is
 * fetched when it is opened. Also the CSV and JSON exports of the same data.
 */
import type { ExperimentRecord, RunRecord } from '../store/db.js';
import { labelled, type CaseStats } from './cases.js';
import { sweepSummaryOf, streamSummaryOf, rttSummaryOf } from './run-tables.js';
import { esc } from './svg.js';
import { us } from './table.js';
import { probesOf } from './why.js';
import { VERSION } from '../version.js';
import { parse } from 'yaml';
import { charts } from './charts.js';
import { runTimeline } from './timeline.js';
import { timelineChart } from './timeline-chart.js';

function table(header: string[], rows: string[][]): string {
  return (
    `<table><thead><tr>` +
    `${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    `${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

/** The latency tables, one per workload, in this order, headed by what their figures are. */
const LATENCY_TABLES = [
  ['rtt', 'Round-trip time (rtt: UDP ping-pong), µs'],
  ['load', 'Probe round-trip time under load (load: open-loop UDP probe), µs'],
  ['rr', 'TCP request/response (rr: persistent connections), µs per transaction'],
  ['crr', 'TCP connect/request/response (crr: a new connection each), µs per transaction'],
] as const;

/** One timeline per case: its first measured repeat's (a chart per repeat would repeat the same shape). */
function caseTimelines(cases: CaseStats[]): string {
  return cases
    .flatMap((c) => {
      const measured = c.runs.filter((r) => r.status !== 'failed');
      for (const [i, r] of measured.entries()) {
        const tl = runTimeline(r);
        if (tl) {
          const which = c.runs.length > 1 ? `, repeat ${i + 1} of ${c.runs.length}` : '';
          return [timelineChart(`${labelled(c)}${which}`, tl)];
        }
      }
      return [];
    })
    .join('\n');
}

export function caseTables(cases: CaseStats[]): string {
  const ci = (q: { value: number; ci95: [number, number] | null; method: string } | null | undefined) =>
    q
      ? `${us(q.value)} ` +
        `${
          q.ci95
            ? `[${us(q.ci95[0])}–${us(q.ci95[1])}${q.method === 'within-run' ? ' within-run' : ''}]`
            : '[n/a: needs ≥ 3 repeats]'
        }`
      : '–';
  const parts: string[] = [];
  // one table per latency workload: an experiment that measures rtt and crr on the same cases would
  // otherwise list each case twice under one heading, unlabelled
  for (const [workload, heading] of LATENCY_TABLES) {
    const rows = cases.filter((c) => c.rtt && c.workload === workload);
    if (!rows.length) continue;
    const txn = workload === 'rr' || workload === 'crr';
    parts.push(
      `<h3 data-workload="${workload}">${esc(heading)}</h3>${table(
        [
          'case',
          'runs',
          txn ? 'transactions' : 'samples',
          txn ? 'failed' : 'lost',
          'p50 [95% CI]',
          'p99 [95% CI]',
          'p99.9 [95% CI]',
          'max',
          ...(txn ? ['transactions/s'] : []),
        ],
        rows.map((c) => [
          c.label,
          `${c.measured}/${c.runs.length}`,
          String(c.rtt!.samples),
          String(c.rtt!.lost),
          ci(c.rtt!.p50),
          ci(c.rtt!.p99),
          ci(c.rtt!.p999),
          us(c.rtt!.max),
          ...(txn ? [c.transactions_per_s ? c.transactions_per_s.mean.toFixed(0) : '–'] : []),
        ]),
      )}`,
    );
  }
  const st = cases.filter((c) => c.rx_pps);
  if (st.length)
    parts.push(
      `<h3>Throughput, kpps</h3>${table(
        ['case', 'runs', 'rx mean', '± SE', '95% CI', 'tx mean', 'loss %'],
        st.map((c) => [
          c.label,
          `${c.measured}/${c.runs.length}`,
          (c.rx_pps!.mean / 1000).toFixed(1),
          c.rx_pps!.se === null ? '–' : (c.rx_pps!.se / 1000).toFixed(1),
          c.rx_pps!.ci95 ? `${(c.rx_pps!.ci95[0] / 1000).toFixed(1)}–${(c.rx_pps!.ci95[1] / 1000).toFixed(1)}` : '–',
          c.tx_pps ? (c.tx_pps.mean / 1000).toFixed(1) : '–',
          c.loss_ratio ? (c.loss_ratio.mean * 100).toFixed(2) : '–',
        ]),
      )}`,
    );
  const sw = cases.filter((c) => c.workload === 'sweep');
  if (sw.length) {
    const pts = (c: CaseStats) =>
      c.runs
        .flatMap((r) => sweepSummaryOf(r)?.points ?? [])
        .map((p) => `${(p.offered_pps / 1000).toFixed(0)}→${p.rx_pps === null ? '–' : (p.rx_pps / 1000).toFixed(1)}`)
        .join(' ');
    parts.push(
      `<h3>Rate sweeps, kpps</h3>${table(
        [
          'case',
          'runs',
          'max sustained (mean of the repeats that sustained one)',
          '95% CI',
          'repeats that sustained none',
          'offered → received',
        ],
        sw.map((c) => [
          c.label,
          `${c.measured}/${c.runs.length}`,
          c.max_sustained_pps ? (c.max_sustained_pps.mean / 1000).toFixed(1) : 'none',
          c.max_sustained_pps?.ci95
            ? `${(c.max_sustained_pps.ci95[0] / 1000).toFixed(1)}–${(c.max_sustained_pps.ci95[1] / 1000).toFixed(1)}`
            : '–',
          String(c.sustained_none),
          pts(c),
        ]),
      )}`,
    );
  }
  const bad = cases.filter((c) => c.problems.length);
  if (bad.length)
    parts.push(
      `<h3>Problems</h3><ul>` +
        `${bad.map((c) => `<li><b>${esc(c.label)}</b>: ${esc(c.problems.join('; '))}</li>`).join('')}</ul>`,
    );
  return parts.join('\n');
}

function environments(runs: RunRecord[]): string {
  const keys = [
    'kernel',
    'preemption',
    'cpu_model',
    'cpu_count',
    'governor',
    'smt',
    'clocksource',
    'virtualization',
    'cnperf_version',
    'engine_version',
    'node_version',
  ];
  const seen = new Map<string, string[]>();
  for (const r of runs) {
    const env = r.env as Record<string, unknown>;
    const sig = JSON.stringify(keys.map((k) => env[k] ?? null));
    seen.set(sig, [...(seen.get(sig) ?? []), r.id]);
  }
  const rows = [...seen].map(([sig, ids]) => [
    ...(JSON.parse(sig) as unknown[]).map((v) =>
      v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v),
    ),
    `${ids.length} run${ids.length > 1 ? 's' : ''}`,
  ]);
  return table([...keys, 'runs'], rows);
}

export function htmlReport(o: {
  title: string;
  experiment: ExperimentRecord | null;
  cases: CaseStats[];
  runs: RunRecord[];
}): string {
  const e = o.experiment;
  const cs = charts(o.cases);
  const desc = e ? String((parse(e.text) as { description?: unknown } | null)?.description ?? '').trim() : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(o.title)}</title>
<style>
body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.chart{display:block;margin:1em 0;border:1px solid #eee}
code,pre{background:#f6f6f6}
pre{padding:0.5em;overflow:auto;font-size:12px}
</style></head><body>
<h1>${esc(o.title)}</h1>
${
  e
    ? `<p>${esc(desc)}</p><p>Experiment ` +
      `<code>${esc(e.name)}</code>, ` +
      `${esc(e.scale)} scale, id ` +
      `<code>${esc(e.id)}</code>: ` +
      `${e.cases} cases × ${e.repeats} repeats, started ` +
      `${esc(e.created_at)}, ${esc(e.status)}.</p>`
    : `<p>${o.runs.length} runs.</p>`
}
<h2>Results</h2>
${caseTables(o.cases)}
<h2>Charts</h2>
${cs.map((c) => c.svg).join('\n')}
<h2>Timelines</h2>
<p>Each case's run as it unfolded: latency per 100 ms window (or rates per second) over the host's CPU split per
100 ms, on one time axis.</p>
${caseTimelines(o.cases) || '<p>No run of these cases stored a timeline (stored by an older cnperf).</p>'}
<h2>Environment</h2>
<div style="overflow:auto">${environments(o.runs)}</div>
${e ? `<h2>Experiment file</h2><pre>${esc(e.text)}</pre>` : ''}
<p><small>cnperf ${esc(VERSION)} — made from the stored runs; remake with <code>cnperf report</code>.</small></p>
</body></html>
`;
}

const CSV_COLUMNS = [
  'experiment',
  'case',
  'repeat',
  'run',
  'datapath',
  'workload',
  'status',
  'samples',
  'lost',
  'rtt_p50_ns',
  'rtt_p99_ns',
  'rtt_p999_ns',
  'rtt_max_ns',
  'rx_pps',
  'tx_pps',
  'loss_ratio',
  'max_sustained_pps',
  'traversals_per_packet',
  'net_rx_softirqs_per_packet',
  'irqs_per_packet',
  'cpu_softirq',
  'cpu_sys',
  'cpu_usr',
  'problem',
];

export function csvReport(runs: RunRecord[]): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const rows = runs.map((r) => {
    const rtt = rttSummaryOf(r);
    const s = streamSummaryOf(r);
    const p = probesOf(r);
    return [
      r.experiment_id,
      r.case_label ?? r.datapath,
      r.repeat,
      r.id,
      r.datapath,
      r.workload,
      r.status,
      r.samples,
      r.lost,
      rtt?.p50,
      rtt?.p99,
      rtt?.p999,
      rtt?.max,
      s?.rx_pps,
      s?.tx_pps,
      s?.loss_ratio,
      sweepSummaryOf(r)?.max_sustained_pps,
      p?.traversals_per_packet,
      p?.net_rx_softirqs_per_packet,
      p?.irqs_per_packet,
      p?.cpu?.all?.softirq,
      p?.cpu?.all?.sys,
      p?.cpu?.all?.usr,
      r.problem,
    ]
      .map(cell)
      .join(',');
  });
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}
