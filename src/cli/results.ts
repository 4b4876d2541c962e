/** `cnperf results list|show`: reads stored runs back from SQLite. */
import { defaultDbPath } from '../paths.js';
import { resultJson, resultsTables, rttSummaryOf, streamSummaryOf, sweepSummaryOf } from '../report/run-tables.js';
import { renderTable, us } from '../report/table.js';
import { endpointTag } from '../report/vm.js';
import { Store, type RunRecord } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { parseIntIn } from '../util/units.js';
import { flag, parseCommandArgs, str } from './args.js';

export const RESULTS_OPTIONS = {
  json: { type: 'boolean' as const },
  db: { type: 'string' as const },
  limit: { type: 'string' as const },
};
export const RESULTS_USAGE = `cnperf results list [--limit N] [--json] [--db FILE]
       cnperf results show RUN [--json] [--db FILE]`;

export async function resultsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'list' && sub !== 'show') {
    throw new UserError(
      sub ? `results: unknown subcommand '${sub}'` : 'results: say list or show',
      `usage: ${RESULTS_USAGE}`,
    );
  }
  const p = parseCommandArgs(`results ${sub}`, rest, RESULTS_OPTIONS, RESULTS_USAGE);
  const store = Store.openExisting(str(p, 'db') ?? defaultDbPath());
  try {
    if (sub === 'list') {
      if (p.positionals.length)
        throw new UserError(`results list: unexpected '${p.positionals[0]}'`, `usage: ${RESULTS_USAGE}`);
      const limitText = str(p, 'limit');
      const runs = store.listRuns(limitText ? parseIntIn(limitText, '--limit', 1, 1_000_000) : 50);
      if (flag(p, 'json')) {
        process.stdout.write(JSON.stringify({ runs: runs.map(resultJson) }) + '\n');
      } else if (runs.length === 0) {
        process.stdout.write(`no runs stored in ${store.file}\n`);
      } else {
        const rows = runs.map((r) => [
          r.id,
          r.created_at.replace('T', ' ').slice(0, 19),
          `${r.datapath}${endpointTag(r)}`,
          r.workload,
          r.status,
          ...measuredAndLost(r),
          headline(r),
        ]);
        process.stdout.write(
          renderTable(
            ['run', 'created (UTC)', 'datapath', 'workload', 'status', 'measured', 'lost', 'result'],
            rows,
            [0, 1, 2, 3, 4, 7],
          ) + '\n',
        );
      }
      return 0;
    }
    if (p.positionals.length !== 1)
      throw new UserError('results show: give one run id', "'cnperf results list' shows them");
    const r = store.findRun(p.positionals[0]!);
    if (flag(p, 'json')) {
      const { histogram: _h, raw, ...rest2 } = r;
      process.stdout.write(
        JSON.stringify({ ...resultJson(r), run: { ...rest2, raw_samples: raw ? raw.length / 8 : 0 } }) + '\n',
      );
      return 0;
    }
    process.stdout.write(showRun(r));
    return 0;
  } finally {
    store.close();
  }
}

/**
 * What a run's sample count is, in its own unit (round trips, steady seconds, offered rates), and what
 * it lost (probes, packets, or bytes for TCP): "samples 2" for a 2-second stream said neither.
 */
export function measuredAndLost(r: RunRecord): [string, string] {
  if (r.workload === 'rtt' || r.workload === 'load') return [`${r.samples} RTTs`, `${r.lost} probes`];
  if (r.workload === 'sweep') return [`${r.samples} rates`, `${r.lost} pkts`];
  if (r.workload === 'rr' || r.workload === 'crr') return [`${r.samples} transactions`, `${r.lost} failed`];
  return [`${r.samples} s`, `${r.lost} ${r.summary?.api === 'tcp' ? 'bytes' : 'pkts'}`];
}

const tps = (x: number | null | undefined) => (typeof x === 'number' ? Math.round(x).toString() : '–');

/** One line that says what a run found. */
function headline(r: RunRecord): string {
  const rtt = rttSummaryOf(r);
  if (rtt && (r.workload === 'rr' || r.workload === 'crr'))
    return (
      `${r.workload.toUpperCase()} p50 ` +
      `${us(rtt.p50)} µs, p99 ${us(rtt.p99)} µs, ${tps(r.summary?.transactions_per_s)} transactions/s`
    );
  if (rtt) return `RTT p50 ${us(rtt.p50)} µs, p99 ${us(rtt.p99)} µs, max ${us(rtt.max)} µs`;
  const s = streamSummaryOf(r);
  if (s && s.api === 'tcp' && s.rx_gbps !== null) return `tcp ${s.size} B writes: rx ${s.rx_gbps.toFixed(3)} Gbit/s`;
  if (s && s.rx_pps !== null)
    return (
      `${s.api} ` +
      `${s.size} B: rx ` +
      `${(s.rx_pps / 1000).toFixed(1)} kpps, ${s.rx_gbps} Gbit/s, loss ${(s.loss_ratio * 100).toFixed(2)} %`
    );
  const w = sweepSummaryOf(r);
  if (w)
    return (
      `${w.api} sweep of ` +
      `${w.points.length} rates: max sustained ` +
      `${w.max_sustained_pps === null ? 'none' : `${(w.max_sustained_pps / 1000).toFixed(1)} kpps`}`
    );
  return r.problem ?? '–';
}

function showRun(r: RunRecord): string {
  const lines = [
    `run ${r.id}  ${r.datapath}${endpointTag(r)} / ${r.workload}  ${r.status}${r.problem ? `: ${r.problem}` : ''}`,
    `created ${r.created_at}, batch ${r.batch_id}`,
    '',
    resultsTables([r]),
    '',
    'parameters:  ' +
      Object.entries(r.params)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' '),
  ];
  if (r.engine)
    lines.push(
      'engine:      ' +
        Object.entries(r.engine)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(' '),
    );
  lines.push(
    'environment: ' +
      Object.entries(r.env)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' '),
  );
  if (r.raw) lines.push(`raw samples: ${r.raw.length / 8} stored`);
  const series = r.series as { rx?: Array<{ packets: number; ns: number }> } | null;
  if (series?.rx?.length)
    lines.push('rx per second (kpps): ' + series.rx.map((iv) => ((iv.packets * 1e6) / iv.ns).toFixed(1)).join(' '));
  return lines.join('\n') + '\n';
}
