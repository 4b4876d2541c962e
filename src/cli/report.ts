/**
 * `cnperf report TARGET... [-o FILE] [--format html|csv|json]`: a report of stored runs — an
 * experiment (by id or name) or runs (by id) — as one self-contained HTML file, CSV or JSON.
 * `cnperf compare A B`: two runs or experiments side by side, and which differences are significant.
 */
import { writeFileSync } from 'node:fs';
import { defaultDbPath } from '../paths.js';
import { groupByCase, type CaseStats } from '../report/cases.js';
import { compareCases } from '../report/compare.js';
import { csvReport, htmlReport } from '../report/html.js';
import { resultJson } from '../report/run-tables.js';
import { Store, type ExperimentRecord, type RunRecord } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { flag, parseCommandArgs, str, type OptionSpec } from './args.js';

export const REPORT_USAGE = `cnperf report TARGET... [-o FILE] [--format html|csv|json] [--db FILE]
  TARGET: an experiment (id, or name: its latest run) or a run id; several are put together
  -o FILE   where to write (default: NAME.html / .csv / .json in the current directory; - for stdout)`;
export const REPORT_OPTIONS: OptionSpec = {
  o: { type: 'string', short: 'o' },
  format: { type: 'string' },
  db: { type: 'string' },
};
export const COMPARE_OPTIONS: OptionSpec = { db: { type: 'string' }, json: { type: 'boolean' } };
export const COMPARE_USAGE = `cnperf compare A B [--db FILE] [--json]   (A, B: experiments or runs)`;

export interface Target {
  experiment: ExperimentRecord | null;
  runs: RunRecord[];
  name: string;
}

export function resolve(store: Store, target: string): Target {
  const e = store.findExperiment(target);
  if (e) return { experiment: e, runs: store.runsOfExperiment(e.id), name: e.name };
  const r = store.findRun(target);
  return { experiment: null, runs: [r], name: `run-${r.id}` };
}

export async function reportCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('report', argv, REPORT_OPTIONS, REPORT_USAGE);
  if (!p.positionals.length) throw new UserError('report: name an experiment or runs', `usage: ${REPORT_USAGE}`);
  const format = str(p, 'format') ?? 'html';
  if (!['html', 'csv', 'json'].includes(format))
    throw new UserError(`--format '${format}': expected html, csv or json`);
  const store = Store.openExisting(str(p, 'db') ?? defaultDbPath());
  try {
    const targets = p.positionals.map((t) => resolve(store, t));
    const runs = targets.flatMap((t) => t.runs);
    if (!runs.length) throw new UserError(`${p.positionals.join(', ')}: no runs stored yet`);
    const experiment = targets.length === 1 ? targets[0]!.experiment : null;
    const name = targets.length === 1 ? targets[0]!.name : 'cnperf-report';
    const cases = groupByCase(runs);
    const text =
      format === 'html'
        ? htmlReport({
            title: experiment ? `cnperf: ${experiment.name}` : `cnperf: ${runs.length} runs`,
            experiment,
            cases,
            runs,
          })
        : format === 'csv'
          ? csvReport(runs)
          : JSON.stringify(
              {
                experiment: experiment ? { ...experiment } : null,
                cases: cases.map(caseJson),
                runs: runs.map((r) => ({ ...resultJson(r), case: r.case_label ?? null, repeat: r.repeat ?? null })),
              },
              null,
              1,
            ) + '\n';
    const out = str(p, 'o') ?? `${name}.${format}`;
    if (out === '-') process.stdout.write(text);
    else {
      writeFileSync(out, text);
      process.stderr.write(`cnperf: wrote ${out} (${cases.length} cases, ${runs.length} runs)\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}

function caseJson(c: CaseStats): Record<string, unknown> {
  const { runs, ...rest } = c;
  return { ...rest, runs: runs.map((r) => r.id) };
}

export async function compareCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('compare', argv, COMPARE_OPTIONS, COMPARE_USAGE);
  if (p.positionals.length !== 2)
    throw new UserError('compare: name two experiments or runs', `usage: ${COMPARE_USAGE}`);
  const store = Store.openExisting(str(p, 'db') ?? defaultDbPath());
  try {
    const [a, b] = p.positionals.map((t) => resolve(store, t)) as [Target, Target];
    const result = compareCases(groupByCase(a.runs), groupByCase(b.runs), a.name, b.name);
    if (flag(p, 'json')) process.stdout.write(JSON.stringify(result.rows) + '\n');
    else process.stdout.write(result.text + '\n');
    return 0;
  } finally {
    store.close();
  }
}
