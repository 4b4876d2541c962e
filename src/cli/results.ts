/** `cnperf results list|show`: reads stored runs back from SQLite. */
import { defaultDbPath } from '../paths.js';
import { rttJson, rttTable } from '../report/rtt.js';
import { renderTable, us } from '../report/table.js';
import type { RttSummary } from '../stats/summary.js';
import { Store, type RunRecord } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { parseIntIn } from '../util/units.js';
import { flag, parseCommandArgs, str } from './args.js';

const USAGE = `cnperf results list [--limit N] [--json] [--db FILE]
       cnperf results show RUN [--json] [--db FILE]`;

export async function resultsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const opts = { json: { type: 'boolean' as const }, db: { type: 'string' as const }, limit: { type: 'string' as const } };
  if (sub !== 'list' && sub !== 'show') {
    if (sub === '--help' || sub === '-h') {
      process.stdout.write(`usage: ${USAGE}\n`);
      return 0;
    }
    throw new UserError(sub ? `results: unknown subcommand '${sub}'` : 'results: say list or show', `usage: ${USAGE}`);
  }
  const p = parseCommandArgs(`results ${sub}`, rest, opts, USAGE);
  const store = Store.open(str(p, 'db') ?? defaultDbPath());
  try {
    if (sub === 'list') {
      if (p.positionals.length) throw new UserError(`results list: unexpected '${p.positionals[0]}'`, `usage: ${USAGE}`);
      const limitText = str(p, 'limit');
      const runs = store.listRuns(limitText ? parseIntIn(limitText, '--limit', 1, 1_000_000) : 50);
      if (flag(p, 'json')) {
        process.stdout.write(JSON.stringify({ runs: runs.map((r) => rttJson(r, summaryOf(r))) }) + '\n');
      } else if (runs.length === 0) {
        process.stdout.write(`no runs stored in ${store.file}\n`);
      } else {
        const rows = runs.map((r) => {
          const s = summaryOf(r);
          return [r.id, r.created_at.replace('T', ' ').slice(0, 19), r.datapath, r.workload, r.status, String(r.samples), String(r.lost), us(s?.p50), us(s?.p99), us(s?.max)];
        });
        process.stdout.write(renderTable(['run', 'created (UTC)', 'datapath', 'workload', 'status', 'samples', 'lost', 'p50 µs', 'p99 µs', 'max µs'], rows, [0, 1, 2, 3, 4]) + '\n');
      }
      return 0;
    }
    if (p.positionals.length !== 1) throw new UserError('results show: give one run id', "'cnperf results list' shows them");
    const r = store.findRun(p.positionals[0]!);
    if (flag(p, 'json')) {
      const { histogram: _h, raw, ...rest2 } = r;
      process.stdout.write(JSON.stringify({ ...rttJson(r, summaryOf(r)), run: { ...rest2, raw_samples: raw ? raw.length / 8 : 0 } }) + '\n');
      return 0;
    }
    process.stdout.write(showRun(r));
    return 0;
  } finally {
    store.close();
  }
}

function summaryOf(r: RunRecord): RttSummary | null {
  if (!r.summary) return null;
  const { cdf: _cdf, ...s } = r.summary as Record<string, unknown>;
  return s as unknown as RttSummary;
}

function showRun(r: RunRecord): string {
  const lines = [
    `run ${r.id}  ${r.datapath} / ${r.workload}  ${r.status}${r.problem ? `: ${r.problem}` : ''}`,
    `created ${r.created_at}, batch ${r.batch_id}`,
    '',
    rttTable([{ record: r, summary: summaryOf(r) }]),
    '',
    'parameters:  ' + Object.entries(r.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' '),
  ];
  if (r.engine) lines.push('engine:      ' + Object.entries(r.engine).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' '));
  lines.push('environment: ' + Object.entries(r.env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' '));
  if (r.raw) lines.push(`raw samples: ${r.raw.length / 8} stored`);
  return lines.join('\n') + '\n';
}
