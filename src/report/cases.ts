/**
 * An experiment's runs grouped by case, with the statistics across repeats: pooled RTT percentiles
 * with bootstrap intervals, and mean ± standard error (95 % CI) of throughput. Made from stored
 * records only, for the terminal summary, the HTML report, CSV/JSON export and `compare`.
 */
import { Histogram } from '../stats/histogram.js';
import { meanCi, quantileCi, type MeanCi, type QuantileCi } from '../stats/repeats.js';
import type { RunRecord } from '../store/db.js';
import { rrSummaryOf, streamSummaryOf, sweepSummaryOf } from './run-tables.js';

export interface CaseStats {
  key: string;
  label: string;
  datapath: string;
  workload: string;
  runs: RunRecord[];
  /** runs that measured something (ok or partial) */
  measured: number;
  failed: number;
  problems: string[];
  rtt: {
    samples: number;
    lost: number;
    p50: QuantileCi | null;
    p99: QuantileCi | null;
    p999: QuantileCi | null;
    max: number;
    cdf: Array<[number, number]>;
  } | null;
  rx_pps: MeanCi | null;
  /** Gbit/s received: TCP's figure */
  rx_gbps: MeanCi | null;
  /** the stream's API when all its runs used one (tcp is shown in Gbit/s) */
  api: string | null;
  tx_pps: MeanCi | null;
  loss_ratio: MeanCi | null;
  /** over the repeats that sustained some rate; those that sustained none are counted, not averaged in */
  max_sustained_pps: MeanCi | null;
  /** repeats of a sweep in which no offered rate was sustained */
  sustained_none: number;
  /** rr, crr: completed transactions per second */
  transactions_per_s: MeanCi | null;
  params: Record<string, unknown>;
}

/** A case's label with its workload, said once. */
export function labelled(c: Pick<CaseStats, 'label' | 'workload'>): string {
  return c.label.endsWith(`(${c.workload})`) ? c.label : `${c.label} (${c.workload})`;
}

export function groupByCase(runs: readonly RunRecord[]): CaseStats[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = r.case_key ?? r.id;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const cases = [...groups].map(([key, rs]) => caseStats(key, rs));
  // An experiment of several workloads names its cases alike ("pod-ip" for rtt and for crr): such labels
  // say their workload, so no table row, bar or line is left ambiguous.
  const count = new Map<string, number>();
  for (const c of cases) count.set(c.label, (count.get(c.label) ?? 0) + 1);
  for (const c of cases) if (count.get(c.label)! > 1) c.label = `${c.label} (${c.workload})`;
  return cases;
}

/**
 * The stream API every run of a case used, whether or not it measured a steady second (a TCP case without one
 * still belongs in the TCP table, its figure '–'); null when they differ or none is a stream.
 */
function apiOf(runs: readonly RunRecord[]): string | null {
  const apis = runs.map((r) => streamSummaryOf(r)?.api).filter((a): a is NonNullable<typeof a> => !!a);
  return apis.length && apis.every((a) => a === apis[0]) ? apis[0]! : null;
}

export function caseStats(key: string, runs: RunRecord[]): CaseStats {
  const ok = runs.filter((r) => r.status !== 'failed');
  const first = runs[0]!;
  const hists = ok.filter((r) => r.histogram).map((r) => Histogram.decode(r.histogram!));
  let rtt: CaseStats['rtt'] = null;
  if (hists.length) {
    const pooled = new Histogram();
    for (const h of hists) pooled.merge(h);
    rtt = {
      samples: ok.reduce((a, r) => a + r.samples, 0),
      lost: ok.reduce((a, r) => a + r.lost, 0),
      p50: quantileCi(hists, 0.5),
      p99: quantileCi(hists, 0.99),
      p999: quantileCi(hists, 0.999),
      max: pooled.max,
      cdf: pooled.cdf(400),
    };
  }
  const streams = ok.map(streamSummaryOf).filter((s): s is NonNullable<typeof s> => !!s && s.rx_pps !== null);
  const sweeps = ok.map(sweepSummaryOf).filter((s): s is NonNullable<typeof s> => !!s);
  const sustained = sweeps.map((s) => s.max_sustained_pps).filter((x): x is number => x !== null);
  return {
    key,
    label: first.case_label ?? first.datapath,
    datapath: first.datapath,
    workload: first.workload,
    runs,
    measured: ok.length,
    failed: runs.length - ok.length,
    problems: [...new Set(runs.map((r) => r.problem).filter((p): p is string => !!p))],
    rtt,
    rx_pps: streams.length ? meanCi(streams.map((s) => s.rx_pps!)) : null,
    rx_gbps: streams.some((s) => s.rx_gbps !== null)
      ? meanCi(streams.map((s) => s.rx_gbps).filter((x): x is number => x !== null))
      : null,
    api: apiOf(ok),
    // A send rate that was not measured is left out, never averaged in as 0.
    tx_pps: streams.some((s) => s.tx_pps !== null)
      ? meanCi(streams.map((s) => s.tx_pps).filter((x): x is number => x !== null))
      : null,
    loss_ratio: streams.length ? meanCi(streams.map((s) => s.loss_ratio)) : null,
    max_sustained_pps: sustained.length ? meanCi(sustained) : null,
    sustained_none: sweeps.length - sustained.length,
    transactions_per_s: (() => {
      const tps = ok
        .map(rrSummaryOf)
        .map((t) => t?.transactions_per_s)
        .filter((x): x is number => typeof x === 'number');
      return tps.length ? meanCi(tps) : null;
    })(),
    params: first.params,
  };
}
