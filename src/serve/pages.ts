/**
 * The web UI's pages, rendered on the server from the store: every value goes through esc(), no page
 * has an inline script or style (the CSP forbids both), and the charts that move — timelines, CDF
 * overlays, live runs — are drawn in the browser by /static/app.js from the JSON API (uPlot).
 */
import { groupByCase } from '../report/cases.js';
import { charts } from '../report/charts.js';
import { compareCases } from '../report/compare.js';
import { caseTables } from '../report/html.js';
import { resultsTables, rttSummaryOf, streamSummaryOf, sweepSummaryOf } from '../report/run-tables.js';
import { esc } from '../report/svg.js';
import { runTimeline } from '../report/timeline.js';
import { timelineChart } from '../report/timeline-chart.js';
import type { ExperimentRecord, RunFilter, RunRecord } from '../store/db.js';
import { VERSION } from '../version.js';

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · cnperf</title>
<link rel="stylesheet" href="/static/uplot.css"><link rel="stylesheet" href="/static/app.css">
<script src="/static/uplot.js" defer></script><script src="/static/app.js" defer></script></head>
<body><nav><b>cnperf</b> <a href="/runs">runs</a> <a href="/experiments">experiments</a>
<a href="/live">live</a> <a href="/metrics">metrics</a></nav>
<main><h1>${esc(title)}</h1>
${body}</main>
<footer>cnperf ${esc(VERSION)} · read-only: runs are started from the command line</footer></body></html>
`;
}

const µs = (ns: number | null | undefined) => (typeof ns === 'number' ? (ns / 1000).toFixed(1) : '–');

/** The figure a run is known by in the list: its latency percentiles, or its rate. */
export function headline(r: RunRecord): string {
  const rtt = rttSummaryOf(r);
  if (rtt) return `p50 ${µs(rtt.p50)} µs · p99 ${µs(rtt.p99)} µs`;
  const s = streamSummaryOf(r);
  if (s?.rx_gbps !== null && s?.rx_gbps !== undefined && s.api === 'tcp') return `${s.rx_gbps.toFixed(2)} Gbit/s`;
  if (s?.rx_pps !== null && s?.rx_pps !== undefined) return `${(s.rx_pps / 1000).toFixed(1)} kpps received`;
  const sw = sweepSummaryOf(r);
  if (sw)
    return sw.max_sustained_pps === null ? 'none sustained' : `max ${(sw.max_sustained_pps / 1000).toFixed(1)} kpps`;
  return '–';
}

const SORTS: Record<string, (a: RunRecord, b: RunRecord) => number> = {
  newest: (a, b) => b.created_at.localeCompare(a.created_at),
  oldest: (a, b) => a.created_at.localeCompare(b.created_at),
  datapath: (a, b) => a.datapath.localeCompare(b.datapath) || b.created_at.localeCompare(a.created_at),
  workload: (a, b) => a.workload.localeCompare(b.workload) || b.created_at.localeCompare(a.created_at),
  p99: (a, b) => (rttSummaryOf(a)?.p99 ?? Infinity) - (rttSummaryOf(b)?.p99 ?? Infinity),
};
export const SORT_NAMES = Object.keys(SORTS);

function select(name: string, values: readonly string[], chosen: string | undefined, any = 'any'): string {
  const opts = [`<option value="">${esc(any)}</option>`].concat(
    values.map((v) => `<option${v === chosen ? ' selected' : ''}>${esc(v)}</option>`),
  );
  return `<label>${esc(name)} <select name="${esc(name)}">${opts.join('')}</select></label>`;
}

export function runsPage(
  runs: RunRecord[],
  f: RunFilter & { sort?: string },
  facets: Record<string, string[]>,
  names: Map<string, string>,
): string {
  const sorted = [...runs].sort(SORTS[f.sort ?? 'newest'] ?? SORTS.newest!);
  const form =
    `<form class="filters" method="get" action="/runs">` +
    select('datapath', facets.datapath ?? [], f.datapath) +
    select('workload', facets.workload ?? [], f.workload) +
    select('experiment', facets.experiment ?? [], f.experiment) +
    select('host', facets.host ?? [], f.host) +
    select('status', ['ok', 'partial', 'failed'], f.status) +
    `<label>since <input type="date" name="since" value="${esc(f.since ?? '')}"></label>` +
    `<label>search <input type="search" name="q" value="${esc(f.q ?? '')}" placeholder="id, case, problem…"></label>` +
    select('sort', SORT_NAMES, f.sort, 'newest') +
    `<button>filter</button></form>`;
  const rows = sorted.map(
    (r) =>
      `<tr data-run="${esc(r.id)}">` +
      `<td><input type="checkbox" name="run" value="${esc(r.id)}" form="compare"></td>` +
      `<td><a href="/runs/${esc(r.id)}">${esc(r.id)}</a></td>` +
      `<td>${esc(r.created_at.replace('T', ' ').slice(0, 19))}</td>` +
      `<td>${esc(r.datapath)}</td><td>${esc(r.workload)}</td>` +
      `<td>${esc(
        [r.experiment_id ? (names.get(r.experiment_id) ?? r.experiment_id) : '', r.case_label ?? '']
          .filter(Boolean)
          .join(' · ') || '–',
      )}</td>` +
      `<td class="st-${esc(r.status)}">${esc(r.status)}</td><td class="num">${esc(headline(r))}</td></tr>`,
  );
  return layout(
    'Runs',
    form +
      `<form id="compare" method="get" action="/compare"><button>compare the checked runs</button></form>` +
      `<p>${sorted.length} run${sorted.length === 1 ? '' : 's'}` +
      `${sorted.length >= 500 ? ' (the newest 500)' : ''}.</p>` +
      `<table class="runs"><thead><tr><th></th><th>run</th><th>measured (UTC)</th><th>datapath</th><th>workload</th>` +
      `<th>experiment · case</th><th>status</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  );
}

function kv(obj: Record<string, unknown>): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return `<table class="kv">${Object.entries(obj)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(cell(v))}</td></tr>`)
    .join('')}</table>`;
}

export function runPage(r: RunRecord, experiment: string | null): string {
  const tl = runTimeline(r);
  const { timeline: _t, ...probes } = (r.probes ?? {}) as Record<string, unknown>;
  return layout(
    `Run ${r.id}: ${r.datapath} ${r.workload}`,
    `<p class="st-${esc(r.status)}">${esc(r.status)}${r.problem ? `: ${esc(r.problem)}` : ''} · measured ` +
      `${esc(r.created_at)}${experiment ? ` · experiment ${esc(experiment)}, case ${esc(r.case_label ?? '')}` : ''}` +
      ` · <a href="/compare?run=${esc(r.id)}">compare…</a></p>` +
      `<h2>Results and why</h2><pre class="tables">${esc(resultsTables([r]))}</pre>` +
      `<h2>Timeline</h2>${
        tl
          ? `<div class="timeline" data-src="/api/runs/${esc(r.id)}/timeline"></div>`
          : '<p>This run stored no timeline (stored by an older cnperf, or it failed).</p>'
      }` +
      `<h2>Parameters</h2>${kv(r.params)}` +
      `<h2>Environment</h2>${kv(r.env as Record<string, unknown>)}` +
      `<details><summary>Probes (JSON)</summary><pre>${esc(JSON.stringify(probes, null, 1))}</pre></details>`,
  );
}

const listItem = (r: RunRecord) =>
  `<li><a href="/runs/${esc(r.id)}">${esc(r.id)}</a> ${esc(r.datapath)} ${esc(r.workload)} · ${esc(headline(r))}</li>`;

export function comparePage(runs: RunRecord[]): string {
  if (runs.length < 2)
    return layout(
      'Compare',
      `<p>Check two or more runs in the <a href="/runs">runs list</a> to compare them` +
        `${runs.length ? ` (have ${esc(runs[0]!.id)})` : ''}.</p>`,
    );
  const [first, ...rest] = runs;
  const verdicts = rest
    .map((b) => {
      const cmp = compareCases(groupByCase([first!]), groupByCase([b]), first!.id, b.id);
      return `<h3>${esc(first!.id)} vs ${esc(b.id)}</h3><pre class="tables">${esc(cmp.text)}</pre>`;
    })
    .join('');
  const ids = runs.map((r) => `run=${encodeURIComponent(r.id)}`).join('&');
  return layout(
    `Compare ${runs.length} runs`,
    `<ul>${runs.map(listItem).join('')}</ul>` +
      `<h2>Distributions</h2><div class="cdf" data-src="/api/compare/cdf?${esc(ids)}"></div>` +
      `<h2>Timelines overlaid</h2><div class="overlay" data-src="/api/compare/timeline?${esc(ids)}"></div>` +
      `<h2>Verdicts</h2><p>Welch's t-test over repeats (p &lt; 0.05) where both sides have ≥ 3; single runs ` +
      `compare within-run intervals, which decide nothing on their own (n/a).</p>${verdicts}`,
  );
}

export function experimentsPage(list: ExperimentRecord[]): string {
  const rows = list.map(
    (e) =>
      `<tr><td><a href="/experiments/${esc(e.id)}">${esc(e.name)}</a></td>` +
      `<td>${esc(e.id)}</td><td>${esc(e.scale)}</td>` +
      `<td>${e.cases} × ${e.repeats}</td><td>${esc(e.created_at)}</td><td>${esc(e.status)}</td></tr>`,
  );
  return layout(
    'Experiments',
    list.length
      ? `<table><thead><tr><th>name</th><th>id</th><th>scale</th><th>cases × repeats</th><th>started</th>` +
          `<th>status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : '<p>No experiment stored yet: <code>cnperf run FILE</code> runs one.</p>',
  );
}

export function experimentPage(e: ExperimentRecord, runs: RunRecord[]): string {
  const cases = groupByCase(runs);
  const timelines = cases
    .map((c) => {
      const r = c.runs.find((x) => x.status !== 'failed');
      const tl = r ? runTimeline(r) : null;
      return tl ? timelineChart(c.label, tl) : '';
    })
    .join('');
  return layout(
    `Experiment ${e.name}`,
    `<p>${esc(e.scale)} scale, id ${esc(e.id)}: ${e.cases} cases × ${e.repeats} repeats, ${esc(e.status)}; ` +
      `${runs.length} runs stored (this page is made from them now).</p>` +
      `<h2>Results</h2>${caseTables(cases)}<h2>Charts</h2>${charts(cases)
        .map((c) => c.svg)
        .join('')}<h2>Timelines</h2>${timelines}`,
  );
}

export function livePage(): string {
  return layout(
    'Live runs',
    `<p>Runs in progress on this host, as they unfold: the host's CPU split per 100 ms and a stream's rates per ` +
      `second. A round trip's percentiles come when it ends (its loop writes nothing while it measures).</p>` +
      `<div id="live" data-src="/api/live"><p class="none">No run in progress.</p></div>`,
  );
}

export function notFound(what: string): string {
  return layout('Not found', `<p>${esc(what)}</p><p><a href="/runs">all runs</a></p>`);
}
