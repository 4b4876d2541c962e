/**
 * One self-contained HTML report of stored runs (an experiment, or any runs): tables with the
 * statistics across repeats, charts as inline SVG, and the environment of every run. Nothing is
 * fetched when it is opened. Also the CSV and JSON exports of the same data.
 */
import { COMPONENTS } from '../stats/breakdown.js';
import type { ExperimentRecord, RunRecord } from '../store/db.js';
import type { CaseStats } from './cases.js';
import { sweepSummaryOf, streamSummaryOf, rttSummaryOf } from './run-tables.js';
import { barChart, cdfChart, esc, lineChart, stackedBarChart, type Series } from './svg.js';
import { us } from './table.js';
import { probesOf } from './why.js';
import { VERSION } from '../version.js';
import { parse } from 'yaml';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const kpps = (x: number) => x / 1000;

/** The charts the data supports (a chart without data is left out, never drawn empty). */
export function charts(cases: CaseStats[]): Array<{ id: string; svg: string }> {
  const out: Array<{ id: string; svg: string }> = [];
  const isTxn = (c: CaseStats) => c.workload === 'rr' || c.workload === 'crr';
  const rtt = cases.filter((c) => c.rtt && c.rtt.cdf.length && !isTxn(c));
  if (rtt.length) {
    out.push({ id: 'rtt-cdf', svg: cdfChart({ kind: 'rtt-cdf', title: 'RTT distribution (pooled over repeats), tail stretched', xLabel: 'round-trip time, µs (log scale)', series: rtt.map((c) => ({ name: c.label, points: c.rtt!.cdf.map(([ns, p]) => [ns / 1000, p] as [number, number]) })) }) });
    out.push({
      id: 'rtt-p99',
      svg: barChart({ kind: 'rtt-p99', title: 'RTT 99th percentile with 95 % interval', yLabel: 'µs', bars: rtt.filter((c) => c.rtt!.p99).map((c) => ({ label: c.label, value: c.rtt!.p99!.value / 1000, ...(c.rtt!.p99!.ci95 ? { lo: c.rtt!.p99!.ci95[0] / 1000, hi: c.rtt!.p99!.ci95[1] / 1000 } : {}) })) }),
    });
  }
  // TCP transactions: their own distribution, and the median over the number of Services behind them
  const txn = cases.filter((c) => c.rtt && c.rtt.cdf.length && isTxn(c));
  if (txn.length) {
    out.push({ id: 'txn-cdf', svg: cdfChart({ kind: 'txn-cdf', title: 'TCP transaction latency (pooled over repeats; crr: connect to close), tail stretched', xLabel: 'per transaction, µs (log scale)', series: txn.map((c) => ({ name: `${c.label} (${c.workload})`, points: c.rtt!.cdf.map(([ns, p]) => [ns / 1000, p] as [number, number]) })) }) });
  }
  const lines = new Map<string, Array<[number, number]>>();
  for (const c of cases.filter((x) => x.rtt?.p50)) {
    const n = (c.runs[0]!.params as { datapath?: { service?: { services?: number } } }).datapath?.service?.services;
    if (typeof n !== 'number') continue;
    const name = `${c.label.replace(/\s*services=\S+/, '')} (${c.workload})`;
    lines.set(name, [...(lines.get(name) ?? []), [n, c.rtt!.p50!.value / 1000]]);
  }
  const bySvc = [...lines].filter(([, pts]) => pts.length > 1).map(([name, pts]) => ({ name, points: pts.sort((a, b) => a[0] - b[0]) }));
  if (bySvc.length) out.push({ id: 'scaling-services', svg: lineChart({ kind: 'scaling-services', title: 'Median latency over the number of Services in the rules', xLabel: 'Services (log scale)', yLabel: 'p50, µs', series: bySvc, xLog: true, yMin: 0 }) });
  const sweeps = cases.filter((c) => c.workload === 'sweep');
  if (sweeps.length) {
    const series: Series[] = sweeps.map((c) => {
      const byRate = new Map<number, number[]>();
      for (const r of c.runs) for (const p of sweepSummaryOf(r)?.points ?? []) if (p.rx_pps !== null) byRate.set(p.offered_pps, [...(byRate.get(p.offered_pps) ?? []), p.rx_pps]);
      return { name: c.label, points: [...byRate].sort((a, b) => a[0] - b[0]).map(([o, rx]) => [kpps(o), kpps(mean(rx))] as [number, number]) };
    });
    out.push({ id: 'rate-curves', svg: lineChart({ kind: 'rate-curves', title: 'Received vs offered rate', xLabel: 'offered, kpps', yLabel: 'received, kpps', series, yMin: 0, diagonal: true }) });
    const withMax = sweeps.filter((c) => c.max_sustained_pps);
    if (withMax.length) out.push({ id: 'max-sustained', svg: barChart({ kind: 'max-sustained', title: 'Maximum sustained rate (loss under the threshold)', yLabel: 'kpps', bars: withMax.map((c) => ({ label: c.label, value: kpps(c.max_sustained_pps!.mean), ...(c.max_sustained_pps!.ci95 ? { lo: kpps(c.max_sustained_pps!.ci95[0]), hi: kpps(c.max_sustained_pps!.ci95[1]) } : {}) })) }) });
  }
  const tcp = cases.filter((c) => c.rx_gbps && c.workload === 'stream' && c.api === 'tcp');
  if (tcp.length) {
    out.push({ id: 'throughput-tcp', svg: barChart({ kind: 'throughput-tcp', title: 'TCP throughput received (mean over repeats, 95 % CI)', yLabel: 'Gbit/s', bars: tcp.map((c) => ({ label: c.label, value: c.rx_gbps!.mean, ...(c.rx_gbps!.ci95 ? { lo: c.rx_gbps!.ci95[0], hi: c.rx_gbps!.ci95[1] } : {}) })) }) });
  }
  const streams = cases.filter((c) => c.rx_pps && c.workload === 'stream' && c.api !== 'tcp');
  if (streams.length) {
    out.push({ id: 'throughput', svg: barChart({ kind: 'throughput', title: 'Throughput received (mean over repeats, 95 % CI)', yLabel: 'kpps', bars: streams.map((c) => ({ label: c.label, value: kpps(c.rx_pps!.mean), ...(c.rx_pps!.ci95 ? { lo: kpps(c.rx_pps!.ci95[0]), hi: kpps(c.rx_pps!.ci95[1]) } : {}) })) }) });
  }
  // Scaling: the same case over flows (or pairs), one line per everything-else; UDP in kpps, TCP in Gbit/s.
  for (const [kind, group, unit, value] of [
    ['', streams, 'received, kpps', (c: CaseStats) => kpps(c.rx_pps!.mean)],
    ['-tcp', tcp, 'received, Gbit/s', (c: CaseStats) => c.rx_gbps!.mean],
  ] as const) {
    for (const axis of ['flows', 'pairs']) {
      const lines = new Map<string, Array<[number, number]>>();
      for (const c of group) {
        const params = c.runs[0]!.params as { flows?: number; datapath?: { pairs?: number } };
        const v = Number(axis === 'flows' ? params.flows : params.datapath?.pairs);
        if (!Number.isFinite(v)) continue;
        const base = c.label.replace(new RegExp(`\\s*${axis}=\\S+`), '');
        lines.set(base, [...(lines.get(base) ?? []), [v, value(c)]]);
      }
      const series = [...lines].filter(([, pts]) => pts.length > 1).map(([name, pts]) => ({ name, points: pts.sort((a, b) => a[0] - b[0]) }));
      if (series.length) out.push({ id: `scaling-${axis}${kind}`, svg: lineChart({ kind: `scaling-${axis}${kind}`, title: `Scaling over ${axis}${kind ? ' (TCP)' : ''}`, xLabel: axis, yLabel: unit, series, yMin: 0 }) });
    }
  }
  const probed = cases.filter((c) => c.runs.some((r) => probesOf(r)?.cpu?.all));
  if (probed.length) {
    const parts = ['usr', 'sys', 'softirq', 'irq', 'steal'] as const;
    out.push({
      id: 'cpu',
      svg: stackedBarChart({
        kind: 'cpu',
        title: 'CPU time during the run, all cores (mean over repeats)',
        yLabel: '% of CPU time',
        categories: [...parts],
        bars: probed.map((c) => ({ label: c.label, parts: parts.map((k) => 100 * mean(c.runs.map((r) => probesOf(r)?.cpu?.all?.[k]).filter((x): x is number => typeof x === 'number'))) })),
      }),
    });
    const perPacket = (k: 'net_rx_softirqs_per_packet' | 'irqs_per_packet' | 'traversals_per_packet') =>
      probed.map((c) => ({ label: c.label, value: mean(c.runs.map((r) => probesOf(r)?.[k]).filter((x): x is number => typeof x === 'number')) })).filter((b) => Number.isFinite(b.value));
    const rx = perPacket('net_rx_softirqs_per_packet');
    if (rx.length) out.push({ id: 'softirqs-per-packet', svg: barChart({ kind: 'softirqs-per-packet', title: 'NET_RX softirqs per packet delivered', yLabel: 'softirqs / packet', bars: rx }) });
    const irq = perPacket('irqs_per_packet');
    if (irq.length) out.push({ id: 'irqs-per-packet', svg: barChart({ kind: 'irqs-per-packet', title: 'Interrupts per packet delivered', yLabel: 'IRQs / packet', bars: irq }) });
    const trav = perPacket('traversals_per_packet');
    if (trav.length) out.push({ id: 'traversals', svg: barChart({ kind: 'traversals', title: 'Stack traversals per packet (tracepoints)', yLabel: 'netif_receive_skb / packet', bars: trav }) });
  }
  const broken = cases.filter((c) => c.runs.some((r) => probesOf(r)?.breakdown));
  if (broken.length) {
    out.push({
      id: 'breakdown',
      svg: stackedBarChart({
        kind: 'breakdown',
        title: 'Where the round trip goes: median of each part (mean over repeats)',
        yLabel: 'µs',
        categories: [...COMPONENTS],
        bars: broken.map((c) => ({ label: c.label, parts: COMPONENTS.map((k) => mean(c.runs.map((r) => probesOf(r)?.breakdown?.components[k].p50).filter((x): x is number => typeof x === 'number')) / 1000) })),
      }),
    });
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function caseTables(cases: CaseStats[]): string {
  const ci = (q: { value: number; ci95: [number, number] | null; method: string } | null | undefined) => (q ? `${us(q.value)} ${q.ci95 ? `[${us(q.ci95[0])}–${us(q.ci95[1])}${q.method === 'within-run' ? ' within-run' : ''}]` : '[n/a: needs ≥ 3 repeats]'}` : '–');
  const parts: string[] = [];
  const rtt = cases.filter((c) => c.rtt);
  if (rtt.length) parts.push(`<h3>Round-trip time, µs</h3>${table(['case', 'runs', 'samples', 'lost', 'p50 [95% CI]', 'p99 [95% CI]', 'p99.9 [95% CI]', 'max'], rtt.map((c) => [c.label, `${c.measured}/${c.runs.length}`, String(c.rtt!.samples), String(c.rtt!.lost), ci(c.rtt!.p50), ci(c.rtt!.p99), ci(c.rtt!.p999), us(c.rtt!.max)]))}`);
  const st = cases.filter((c) => c.rx_pps);
  if (st.length) parts.push(`<h3>Throughput, kpps</h3>${table(['case', 'runs', 'rx mean', '± SE', '95% CI', 'tx mean', 'loss %'], st.map((c) => [c.label, `${c.measured}/${c.runs.length}`, (c.rx_pps!.mean / 1000).toFixed(1), c.rx_pps!.se === null ? '–' : (c.rx_pps!.se / 1000).toFixed(1), c.rx_pps!.ci95 ? `${(c.rx_pps!.ci95[0] / 1000).toFixed(1)}–${(c.rx_pps!.ci95[1] / 1000).toFixed(1)}` : '–', c.tx_pps ? (c.tx_pps.mean / 1000).toFixed(1) : '–', c.loss_ratio ? (c.loss_ratio.mean * 100).toFixed(2) : '–']))}`);
  const sw = cases.filter((c) => c.workload === 'sweep');
  if (sw.length) {
    const pts = (c: CaseStats) => c.runs.flatMap((r) => sweepSummaryOf(r)?.points ?? []).map((p) => `${(p.offered_pps / 1000).toFixed(0)}→${p.rx_pps === null ? '–' : (p.rx_pps / 1000).toFixed(1)}`).join(' ');
    parts.push(`<h3>Rate sweeps, kpps</h3>${table(['case', 'runs', 'max sustained (mean of the repeats that sustained one)', '95% CI', 'repeats that sustained none', 'offered → received'], sw.map((c) => [c.label, `${c.measured}/${c.runs.length}`, c.max_sustained_pps ? (c.max_sustained_pps.mean / 1000).toFixed(1) : 'none', c.max_sustained_pps?.ci95 ? `${(c.max_sustained_pps.ci95[0] / 1000).toFixed(1)}–${(c.max_sustained_pps.ci95[1] / 1000).toFixed(1)}` : '–', String(c.sustained_none), pts(c)]))}`);
  }
  const bad = cases.filter((c) => c.problems.length);
  if (bad.length) parts.push(`<h3>Problems</h3><ul>${bad.map((c) => `<li><b>${esc(c.label)}</b>: ${esc(c.problems.join('; '))}</li>`).join('')}</ul>`);
  return parts.join('\n');
}

function environments(runs: RunRecord[]): string {
  const keys = ['kernel', 'preemption', 'cpu_model', 'cpu_count', 'governor', 'smt', 'clocksource', 'virtualization', 'cnperf_version', 'engine_version', 'node_version'];
  const seen = new Map<string, string[]>();
  for (const r of runs) {
    const env = r.env as Record<string, unknown>;
    const sig = JSON.stringify(keys.map((k) => env[k] ?? null));
    seen.set(sig, [...(seen.get(sig) ?? []), r.id]);
  }
  const rows = [...seen].map(([sig, ids]) => [...(JSON.parse(sig) as unknown[]).map((v) => (v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v))), `${ids.length} run${ids.length > 1 ? 's' : ''}`]);
  return table([...keys, 'runs'], rows);
}

export function htmlReport(o: { title: string; experiment: ExperimentRecord | null; cases: CaseStats[]; runs: RunRecord[] }): string {
  const e = o.experiment;
  const cs = charts(o.cases);
  const desc = e ? String((parse(e.text) as { description?: unknown } | null)?.description ?? '').trim() : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(o.title)}</title>
<style>
body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.chart{display:block;margin:1em 0;border:1px solid #eee}
code,pre{background:#f6f6f6}
pre{padding:0.5em;overflow:auto;font-size:12px}
</style></head><body>
<h1>${esc(o.title)}</h1>
${e ? `<p>${esc(desc)}</p><p>Experiment <code>${esc(e.name)}</code>, ${esc(e.scale)} scale, id <code>${esc(e.id)}</code>: ${e.cases} cases × ${e.repeats} repeats, started ${esc(e.created_at)}, ${esc(e.status)}.</p>` : `<p>${o.runs.length} runs.</p>`}
<h2>Results</h2>
${caseTables(o.cases)}
<h2>Charts</h2>
${cs.map((c) => c.svg).join('\n')}
<h2>Environment</h2>
<div style="overflow:auto">${environments(o.runs)}</div>
${e ? `<h2>Experiment file</h2><pre>${esc(e.text)}</pre>` : ''}
<p><small>cnperf ${esc(VERSION)} — made from the stored runs; remake with <code>cnperf report</code>.</small></p>
</body></html>
`;
}

const CSV_COLUMNS = ['experiment', 'case', 'repeat', 'run', 'datapath', 'workload', 'status', 'samples', 'lost', 'rtt_p50_ns', 'rtt_p99_ns', 'rtt_p999_ns', 'rtt_max_ns', 'rx_pps', 'tx_pps', 'loss_ratio', 'max_sustained_pps', 'traversals_per_packet', 'net_rx_softirqs_per_packet', 'irqs_per_packet', 'cpu_softirq', 'cpu_sys', 'cpu_usr', 'problem'];

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
    return [r.experiment_id, r.case_label ?? r.datapath, r.repeat, r.id, r.datapath, r.workload, r.status, r.samples, r.lost, rtt?.p50, rtt?.p99, rtt?.p999, rtt?.max, s?.rx_pps, s?.tx_pps, s?.loss_ratio, sweepSummaryOf(r)?.max_sustained_pps, p?.traversals_per_packet, p?.net_rx_softirqs_per_packet, p?.irqs_per_packet, p?.cpu?.all?.softirq, p?.cpu?.all?.sys, p?.cpu?.all?.usr, r.problem].map(cell).join(',');
  });
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}
