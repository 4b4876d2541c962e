/**
 * Runs' figures in the OpenMetrics text format (what Prometheus scrapes and pushgateway and the node
 * exporter's textfile collector take): one family per figure, labelled with the run's datapath, workload,
 * host, experiment, case and id (latency a summary: quantiles, count, sum; the rest gauges); cnperf's own
 * counts after them; "# EOF" last. No sample
 * carries a timestamp (Prometheus refuses ones older than its head block): the run's time is its own
 * gauge, cnperf_run_timestamp_seconds.
 */
import type { Figure, RunLabels } from './figures.js';

export interface MetricRun {
  labels: RunLabels;
  created_at: string;
  figures: Figure[];
}

/** cnperf's own counts: stored runs by status, experiments, runs in progress. */
export interface OwnCounts {
  runs: Record<string, number>;
  experiments: number;
  live: number;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
const num = (v: number) => String(v); // the shortest text that reads back as the same double

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export function renderOpenMetrics(runs: readonly MetricRun[], own: OwnCounts | null): string {
  const families = new Map<string, { help: string; unit: string; type: string; lines: string[] }>();
  const add = (name: string, help: string, unit: string, line: string, type = 'gauge') => {
    const f = families.get(name) ?? { help, unit, type, lines: [] };
    f.lines.push(line);
    families.set(name, f);
  };
  for (const r of runs) {
    const base = { ...r.labels };
    const t = Date.parse(r.created_at) / 1000;
    if (Number.isFinite(t))
      add(
        'cnperf_run_timestamp_seconds',
        'when the run was measured (Unix time)',
        'seconds',
        `cnperf_run_timestamp_seconds${labelText(base)} ${num(t)}`,
      );
    for (const f of r.figures) {
      const family = `cnperf_${f.family?.name ?? f.metric}`;
      const line = `cnperf_${f.metric}${labelText({ ...base, ...f.labels })} ${num(f.value)}`;
      add(family, f.help, f.unit, line, f.family?.type);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# TYPE ${name} ${f.type}`, `# UNIT ${name} ${f.unit}`, `# HELP ${name} ${f.help}`, ...f.lines);
  }
  if (own) {
    // gauges, not counters: a count of what the store holds (another --db, a pruned store, holds fewer)
    out.push('# TYPE cnperf_stored_runs gauge', '# HELP cnperf_stored_runs runs in the store, by status');
    for (const [status, n] of Object.entries(own.runs)) out.push(`cnperf_stored_runs${labelText({ status })} ${n}`);
    out.push('# TYPE cnperf_stored_experiments gauge', '# HELP cnperf_stored_experiments experiments in the store');
    out.push(`cnperf_stored_experiments ${own.experiments}`);
    out.push('# TYPE cnperf_live_runs gauge', '# HELP cnperf_live_runs runs in progress on this host now');
    out.push(`cnperf_live_runs ${own.live}`);
  }
  out.push('# EOF');
  return out.join('\n') + '\n';
}
