/**
 * A run's headline figures as flat rows — what monitoring takes in: latency quantiles, rates, loss,
 * transactions per second, CPU time per packet. Each row is a measurement of the run (a figure the
 * run did not measure is absent, never 0). `cnperf export` writes them as OpenMetrics, JSON lines or
 * CSV, and `cnperf serve` exposes the latest run of each series on /metrics.
 */
import type { RunRecord } from '../store/db.js';
import { rrSummaryOf, rttSummaryOf, streamSummaryOf } from './run-tables.js';
import { probesOf } from './why.js';

export interface RunLabels {
  run: string;
  datapath: string;
  workload: string;
  host: string;
  /** the experiment's name, '' for a run of `cnperf quick` */
  experiment: string;
  /** the case in its experiment ('' outside one) */
  case: string;
}

export interface Figure {
  /** the sample's name without the cnperf_ prefix, its unit last (OpenMetrics' rule) */
  metric: string;
  /** a summary's samples (quantiles, _count, _sum) share its family; a gauge is its own */
  family?: { name: string; type: 'summary' };
  help: string;
  unit: 'seconds' | 'packets_per_second' | 'bits_per_second' | 'ratio' | 'transactions_per_second';
  /** extra labels (quantile, direction) */
  labels: Record<string, string>;
  value: number;
}

export function labelsOf(r: RunRecord, experimentName: string | null): RunLabels {
  const env = r.env as { hostname?: unknown };
  return {
    run: r.id,
    datapath: r.datapath,
    workload: r.workload,
    host: typeof env.hostname === 'string' ? env.hostname : '',
    experiment: experimentName ?? '',
    case: r.case_label ?? '',
  };
}

const QUANTILES = [
  ['p50', '0.5'],
  ['p99', '0.99'],
  ['p999', '0.999'],
] as const;

/** The run's figures; empty for a failed run. */
export function figuresOf(r: RunRecord): Figure[] {
  if (r.status === 'failed') return [];
  const out: Figure[] = [];
  const rtt = rttSummaryOf(r);
  if (rtt) {
    // a summary, as Prometheus knows it: the quantiles, the count of samples and their sum
    const latency = (metric: string, labels: Record<string, string>, value: number): Figure => ({
      metric,
      family: { name: 'latency_seconds', type: 'summary' },
      help: 'round-trip (rtt, load probe) or transaction (rr, crr) latency of the run',
      unit: 'seconds',
      labels,
      value,
    });
    for (const [k, q] of QUANTILES) out.push(latency('latency_seconds', { quantile: q }, rtt[k] / 1e9));
    out.push(latency('latency_seconds_count', {}, r.samples));
    out.push(latency('latency_seconds_sum', {}, (rtt.mean * r.samples) / 1e9));
  }
  if (r.samples + r.lost > 0 && rtt)
    out.push({
      metric: 'loss_ratio',
      help: 'probes or transactions without an answer, of those measured',
      unit: 'ratio',
      labels: {},
      value: r.lost / (r.samples + r.lost),
    });
  const tps = rrSummaryOf(r)?.transactions_per_s;
  if (typeof tps === 'number')
    out.push({
      metric: 'transactions_per_second',
      help: 'completed TCP transactions per second',
      unit: 'transactions_per_second',
      labels: {},
      value: tps,
    });
  const s = streamSummaryOf(r);
  if (s) {
    for (const [dir, v] of [
      ['rx', s.rx_pps],
      ['tx', s.tx_pps],
    ] as const)
      if (v !== null)
        out.push({
          metric: 'rate_packets_per_second',
          help: 'steady-state packet rate of the stream',
          unit: 'packets_per_second',
          labels: { direction: dir },
          value: v,
        });
    if (s.rx_gbps !== null)
      out.push({
        metric: 'throughput_bits_per_second',
        help: 'steady-state throughput received',
        unit: 'bits_per_second',
        labels: { direction: 'rx' },
        value: s.rx_gbps * 1e9,
      });
    out.push({
      metric: 'stream_loss_ratio',
      help: "packets sent but not received, of the stream's packets",
      unit: 'ratio',
      labels: {},
      value: s.loss_ratio,
    });
  }
  const cpu = cpuPerPacket(r);
  if (cpu !== null)
    out.push({
      metric: 'cpu_per_packet_seconds',
      help: 'CPU time (all cores, not idle, not stolen) per packet delivered during the run',
      unit: 'seconds',
      labels: {},
      value: cpu,
    });
  return out;
}

/** CPU seconds per packet: busy share × window × cores ÷ packets delivered; null when any is unknown. */
function cpuPerPacket(r: RunRecord): number | null {
  const p = probesOf(r);
  const all = p?.cpu?.all;
  const cores = p?.cpu?.per_cpu?.length ?? 0;
  if (!all || !cores || !p?.packets || !p.window_ms) return null;
  const busy = 1 - all.idle - all.steal;
  return (busy * (p.window_ms / 1000) * cores) / p.packets;
}
