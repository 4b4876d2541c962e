/**
 * Judging expectations (src/input/expect.ts) on a case's stored runs: each with the measured value, its
 * 95 % interval and how that interval was computed (src/stats/repeats.ts: Student t over repeats, the
 * within-run interval of a quantile, or a Wilson interval for a loss share), and a verdict — pass,
 * fail, inconclusive (the interval straddles the threshold) or unmeasured (nothing to judge on).
 */
import { formatMetric, holds, type Expectation } from '../input/expect.js';
import type { MeanCi, QuantileCi } from '../stats/repeats.js';
import { labelled, type CaseStats } from './cases.js';
import { renderTable } from './table.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'unmeasured';

export interface Judgement {
  case: string;
  expectation: string;
  metric: Expectation['metric'];
  value: number | null;
  ci95: [number, number] | null;
  /** how the interval was computed, or why there is none */
  interval: string;
  verdict: Verdict;
}

/** Wilson's 95 % score interval of a share k/n (exact enough for loss counts, never outside [0, 1]). */
export function wilson(k: number, n: number): [number, number] | null {
  if (n === 0) return null;
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

function fromQuantile(q: QuantileCi | null | undefined): Pick<Judgement, 'value' | 'ci95' | 'interval'> {
  if (!q) return { value: null, ci95: null, interval: '–' };
  const how = {
    repeats: `Student t over ${q.per_run?.length ?? 0} repeats`,
    'within-run': 'within one run (order statistics): says nothing of another run',
    'too-few-repeats': 'none: 2 repeats (3 or more give one)',
  }[q.method];
  return { value: q.value, ci95: q.ci95, interval: how };
}

function fromMean(m: MeanCi | null | undefined): Pick<Judgement, 'value' | 'ci95' | 'interval'> {
  if (!m || !Number.isFinite(m.mean)) return { value: null, ci95: null, interval: '–' };
  return {
    value: m.mean,
    ci95: m.ci95,
    interval: m.ci95
      ? `Student t over ${m.n} repeats`
      : `none: ${m.n} repeat${m.n === 1 ? '' : 's'} (3 or more give one)`,
  };
}

function measuredOf(c: CaseStats, e: Expectation): Pick<Judgement, 'value' | 'ci95' | 'interval'> {
  switch (e.metric) {
    case 'p50':
      return fromQuantile(c.rtt?.p50);
    case 'p99':
      return fromQuantile(c.rtt?.p99);
    case 'p99.9':
      return fromQuantile(c.rtt?.p999);
    case 'max':
      return c.rtt
        ? { value: c.rtt.max, ci95: null, interval: 'none: the largest sample' }
        : { value: null, ci95: null, interval: '–' };
    case 'rx_pps':
      return fromMean(c.rx_pps);
    case 'tx_pps':
      return fromMean(c.tx_pps);
    case 'rx_gbps':
      return fromMean(c.rx_gbps);
    case 'transactions_per_s':
      return fromMean(c.transactions_per_s);
    case 'loss': {
      if (c.workload === 'stream') return fromMean(c.loss_ratio);
      if (!c.rtt) return { value: null, ci95: null, interval: '–' };
      const n = c.rtt.samples + c.rtt.lost;
      return {
        value: n ? c.rtt.lost / n : null,
        ci95: wilson(c.rtt.lost, n),
        interval: `Wilson score over ${n} pooled probes/transactions`,
      };
    }
  }
}

export function judge(c: CaseStats, e: Expectation): Judgement {
  const m = measuredOf(c, e);
  let verdict: Verdict;
  if (m.value === null) verdict = 'unmeasured';
  else if (m.ci95 && holds(e.op, m.ci95[0], e.threshold) !== holds(e.op, m.ci95[1], e.threshold))
    verdict = 'inconclusive';
  else verdict = holds(e.op, m.value, e.threshold) ? 'pass' : 'fail';
  return { case: labelled(c), expectation: e.text, metric: e.metric, ...m, verdict };
}

/** The exit status a set of judgements gives: 1 when one failed or was not measured (or, as told, was inconclusive). */
export function gateExitCode(js: readonly Judgement[], inconclusive: 'pass' | 'fail'): 0 | 1 {
  return js.some(
    (j) =>
      j.verdict === 'fail' || j.verdict === 'unmeasured' || (j.verdict === 'inconclusive' && inconclusive === 'fail'),
  )
    ? 1
    : 0;
}

export function gatesTable(js: readonly Judgement[]): string {
  const rows = js.map((j) => {
    const metric = j.metric;
    return [
      j.case,
      j.expectation,
      j.value === null ? '–' : formatMetric(metric, j.value),
      j.ci95 ? `${formatMetric(metric, j.ci95[0])} … ${formatMetric(metric, j.ci95[1])}` : '–',
      j.interval,
      j.verdict.toUpperCase(),
    ];
  });
  const failed = js.filter((j) => j.verdict !== 'pass').length;
  return (
    `Expectations: ` +
    `${js.length - failed} of ` +
    `${js.length} hold\n${renderTable(
      ['case', 'expectation', 'measured', '95 % interval', 'interval from', 'verdict'],
      rows,
      [0, 1, 4, 5],
    )}`
  );
}
