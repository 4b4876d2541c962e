import type { RunRecord } from '../store/db.js';
import type { RttSummary } from '../stats/summary.js';
import { renderTable, us } from './table.js';

export const RTT_COLUMNS = ['datapath', 'samples', 'lost', 'min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max', 'stddev', 'run'];

/** The comparison table of `quick` and `results show`: one row per run, RTT in µs. */
export function rttTable(runs: Array<{ record: RunRecord; summary: RttSummary | null }>): string {
  const rows = runs.map(({ record: r, summary: s }) => [
    r.status === 'ok' ? r.datapath : `${r.datapath} (${r.status})`,
    String(r.samples),
    String(r.lost),
    us(s?.min),
    us(s?.mean),
    us(s?.p50),
    us(s?.p90),
    us(s?.p99),
    us(s?.p999),
    us(s?.max),
    us(s?.stddev),
    r.id,
  ]);
  return `UDP round-trip time, µs\n${renderTable(RTT_COLUMNS, rows, [0, 11])}`;
}

/** One result of the `--json` contract: {datapath, params, samples, lost, rtt_ns, run_id, ...}. */
export function rttJson(r: RunRecord, s: RttSummary | null): Record<string, unknown> {
  return {
    datapath: r.datapath,
    workload: r.workload,
    params: r.params,
    samples: r.samples,
    lost: r.lost,
    rtt_ns: s,
    run_id: r.id,
    status: r.status,
    problem: r.problem,
  };
}
