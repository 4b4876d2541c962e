/** The terminal summary of an experiment: one table per workload, statistics across repeats. */
import type { ExperimentRecord } from '../store/db.js';
import type { QuantileCi } from '../stats/repeats.js';
import type { MeanCi } from '../stats/repeats.js';
import type { CaseStats } from './cases.js';
import { renderTable, us } from './table.js';
import { vmOf } from './vm.js';

const withCi = (q: QuantileCi | null | undefined) =>
  q
    ? `${us(q.value)} ` +
      `${
        q.ci95
          ? `[${us(q.ci95[0])}–${us(q.ci95[1])}${q.method === 'within-run' ? ' within-run' : ''}]`
          : '[n/a: needs ≥ 3 repeats]'
      }`
    : '–';
const kpps = (m: MeanCi | null, digits = 1) =>
  m ? `${(m.mean / 1000).toFixed(digits)}${m.se !== null ? ` ± ${(m.se / 1000).toFixed(digits)}` : ''}` : '–';
const ci = (m: MeanCi | null) =>
  !m ? '–' : m.ci95 ? `${(m.ci95[0] / 1000).toFixed(1)}–${(m.ci95[1] / 1000).toFixed(1)}` : 'n/a (needs ≥ 3 repeats)';

export function experimentTables(e: ExperimentRecord, cases: CaseStats[]): string {
  const parts: string[] = [
    `Experiment ${e.name} (${e.scale} scale, id ${e.id}): ${cases.length} cases × ${e.repeats} repeats, ${e.status}`,
  ];
  const rtt = cases.filter((c) => c.workload === 'rtt' || c.workload === 'load');
  if (rtt.length) {
    // idle (rtt) and under load (load) in one experiment: say which row is which
    const mixed = new Set(rtt.map((c) => c.workload)).size > 1;
    const rows = rtt.map((c) => [
      c.label,
      ...(mixed ? [c.workload] : []),
      `${c.measured}/${c.runs.length}`,
      String(c.rtt?.samples ?? 0),
      String(c.rtt?.lost ?? 0),
      withCi(c.rtt?.p50),
      withCi(c.rtt?.p99),
      withCi(c.rtt?.p999),
      us(c.rtt?.max),
      ...(c.workload === 'load' ? [kpps(c.rx_pps)] : []),
    ]);
    const header = [
      'case',
      ...(mixed ? ['workload'] : []),
      'runs',
      'samples',
      'lost',
      'p50 [95% CI]',
      'p99 [95% CI]',
      'p99.9 [95% CI]',
      'max',
      ...(rtt.some((c) => c.workload === 'load') ? ['load rx kpps'] : []),
    ];
    parts.push(
      `RTT, µs, pooled over repeats (95 % intervals: Student t over each repeat's own percentile, from 3 ` +
        `repeats; with one run, the within-run sampling interval)\n${renderTable(header, rows, [0])}`,
    );
  }
  const rr = cases.filter((c) => c.workload === 'rr' || c.workload === 'crr');
  if (rr.length) {
    const tps = (m: MeanCi | null) =>
      m ? `${Math.round(m.mean)}${m.ci95 ? ` [${Math.round(m.ci95[0])}–${Math.round(m.ci95[1])}]` : ''}` : '–';
    const rows = rr.map((c) => [
      c.label,
      c.workload,
      `${c.measured}/${c.runs.length}`,
      String(c.rtt?.samples ?? 0),
      String(c.rtt?.lost ?? 0),
      withCi(c.rtt?.p50),
      withCi(c.rtt?.p99),
      withCi(c.rtt?.p999),
      us(c.rtt?.max),
      tps(c.transactions_per_s),
    ]);
    const header = [
      'case',
      'mode',
      'runs',
      'transactions',
      'failed',
      'p50 [95% CI]',
      'p99 [95% CI]',
      'p99.9 [95% CI]',
      'max',
      'per s [95% CI]',
    ];
    parts.push(
      `TCP transactions, µs per transaction (crr: connect to close), pooled over repeats (intervals as for ` +
        `RTT); transactions per second, mean [Student t 95% CI over repeats]\n${renderTable(header, rows, [0, 1])}`,
    );
  }
  const tcp = cases.filter((c) => c.workload === 'stream' && c.api === 'tcp');
  if (tcp.length) {
    const g = (m: MeanCi | null) => (m ? `${m.mean.toFixed(3)}${m.se !== null ? ` ± ${m.se.toFixed(3)}` : ''}` : '–');
    const gci = (m: MeanCi | null) =>
      !m ? '–' : m.ci95 ? `${m.ci95[0].toFixed(3)}–${m.ci95[1].toFixed(3)}` : 'n/a (needs ≥ 3 repeats)';
    const rows = tcp.map((c) => [c.label, `${c.measured}/${c.runs.length}`, g(c.rx_gbps), gci(c.rx_gbps)]);
    parts.push(
      `TCP throughput, Gbit/s received: mean ± standard error over repeats [95% CI, Student ` +
        `t]\n${renderTable(['case', 'runs', 'rx Gbit/s', '95% CI'], rows, [0])}`,
    );
  }
  const stream = cases.filter((c) => c.workload === 'stream' && c.api !== 'tcp');
  if (stream.length) {
    const rows = stream.map((c) => [
      c.label,
      `${c.measured}/${c.runs.length}`,
      kpps(c.rx_pps),
      ci(c.rx_pps),
      kpps(c.tx_pps),
      c.loss_ratio ? (c.loss_ratio.mean * 100).toFixed(2) : '–',
    ]);
    parts.push(
      `Throughput, kpps received: mean ± standard error over repeats [95% CI, Student ` +
        `t]\n${renderTable(['case', 'runs', 'rx kpps', '95% CI', 'tx kpps', 'loss %'], rows, [0])}`,
    );
  }
  const sweep = cases.filter((c) => c.workload === 'sweep');
  if (sweep.length) {
    const none = (c: CaseStats) =>
      c.sustained_none ? `${c.sustained_none} of ${c.sustained_none + (c.max_sustained_pps?.n ?? 0)}` : '0';
    const rows = sweep.map((c) => [
      c.label,
      `${c.measured}/${c.runs.length}`,
      kpps(c.max_sustained_pps),
      ci(c.max_sustained_pps),
      none(c),
    ]);
    parts.push(
      `Rate sweeps: maximum sustained rate, kpps received, over the repeats that sustained a rate (repeats ` +
        `that sustained none are counted beside it, not averaged ` +
        `in)\n${renderTable(['case', 'runs', 'max sustained', '95% CI', 'sustained none'], rows, [0])}`,
    );
  }
  const vm = vmCaseNotes(cases);
  if (vm) parts.push(vm);
  const failed = cases.filter((c) => c.problems.length);
  if (failed.length) parts.push(`Problems:\n${failed.map((c) => `  ${c.label}: ${c.problems.join('; ')}`).join('\n')}`);
  return parts.join('\n\n');
}

/** Cases with VM endpoints: how their guests ran, and the warning TCG deserves. */
function vmCaseNotes(cases: CaseStats[]): string {
  const how = new Map<string, string[]>();
  for (const c of cases) {
    const b = c.runs.map((r) => vmOf(r)?.booted).find(Boolean);
    if (!b) continue;
    const what =
      b.accel === 'tcg' ? `emulated (TCG): latencies dominated by emulation (${b.accel_why})` : `KVM (${b.accel_why})`;
    how.set(what, [...new Set([...(how.get(what) ?? []), c.label])]);
  }
  return how.size
    ? `VM endpoints:\n${[...how].map(([what, labels]) => `  ${labels.join(', ')}: ${what}`).join('\n')}`
    : '';
}
