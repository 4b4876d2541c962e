/**
 * `cnperf export --format openmetrics|jsonl|csv TARGET...`: stored runs' headline figures for the
 * monitoring users already run — OpenMetrics text for pushgateway or a textfile collector, JSON lines
 * or CSV for anything else. The same rows `cnperf serve` exposes on /metrics (src/report/figures.ts).
 */
import { writeFileSync } from 'node:fs';
import { defaultDbPath } from '../paths.js';
import { figuresOf, labelsOf, type Figure, type RunLabels } from '../report/figures.js';
import { renderOpenMetrics } from '../report/openmetrics.js';
import { Store, type RunRecord } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { parseCommandArgs, str, type OptionSpec } from './args.js';
import { resolve } from './report.js';

export const EXPORT_FORMATS = ['openmetrics', 'jsonl', 'csv'] as const;
export const EXPORT_USAGE = `cnperf export --format ${EXPORT_FORMATS.join('|')} TARGET... [-o FILE] [--db FILE]
  TARGET: a run id, or an experiment (id, or name: its latest run), several at once
  -o FILE   where to write (default: stdout)`;
export const EXPORT_OPTIONS: OptionSpec = {
  format: { type: 'string' },
  o: { type: 'string', short: 'o' },
  db: { type: 'string' },
};

interface Row {
  labels: RunLabels;
  created_at: string;
  figure: Figure;
}

const CSV_HEADER = ['run', 'created_at', 'datapath', 'workload', 'host', 'experiment', 'case', 'metric', 'unit'];
const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function csv(rows: Row[]): string {
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.figure.labels)))].sort();
  const lines = [[...CSV_HEADER, ...extra, 'value'].join(',')];
  for (const { labels: l, created_at, figure: f } of rows)
    lines.push(
      [l.run, created_at, l.datapath, l.workload, l.host, l.experiment, l.case, `cnperf_${f.metric}`, f.unit]
        .concat(
          extra.map((k) => f.labels[k] ?? ''),
          [String(f.value)],
        )
        .map(csvCell)
        .join(','),
    );
  return lines.join('\n') + '\n';
}

function jsonl(rows: Row[]): string {
  return rows
    .map(({ labels, created_at, figure: f }) =>
      JSON.stringify({
        ...labels,
        created_at,
        metric: `cnperf_${f.metric}`,
        unit: f.unit,
        ...f.labels,
        value: f.value,
      }),
    )
    .join('\n')
    .concat(rows.length ? '\n' : '');
}

export async function exportCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('export', argv, EXPORT_OPTIONS, EXPORT_USAGE);
  const format = str(p, 'format');
  if (!format || !(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new UserError(
      format ? `--format '${format}': not an export format` : 'export: --format is required',
      `expected one of ${EXPORT_FORMATS.join(', ')}; usage: ${EXPORT_USAGE}`,
    );
  if (!p.positionals.length) throw new UserError('export: name runs or experiments', `usage: ${EXPORT_USAGE}`);
  const store = Store.openExisting(str(p, 'db') ?? defaultDbPath());
  let runs: RunRecord[];
  let names: Map<string, string>;
  try {
    runs = p.positionals.flatMap((t) => resolve(store, t).runs);
    names = store.experimentNames();
  } finally {
    store.close();
  }
  const measured = runs.map((r) => ({
    labels: labelsOf(r, r.experiment_id ? (names.get(r.experiment_id) ?? null) : null),
    created_at: r.created_at,
    figures: figuresOf(r),
  }));
  const rows = measured.flatMap((m) => m.figures.map((figure) => ({ ...m, figure })));
  const text =
    format === 'openmetrics' ? renderOpenMetrics(measured, null) : format === 'csv' ? csv(rows) : jsonl(rows);
  const out = str(p, 'o');
  if (!out || out === '-') process.stdout.write(text);
  else writeFileSync(out, text);
  if (out && out !== '-')
    process.stderr.write(`cnperf: wrote ${out} (${rows.length} figures of ${runs.length} runs)\n`);
  return 0;
}
