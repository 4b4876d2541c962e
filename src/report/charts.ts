/**
 * The report's charts, each from the cases' statistics: RTT CDFs and percentiles, throughput and rate
 * curves, CPU split, scaling over flows, Services, and the round trip's parts. Pure: SVG text.
 */
import { COMPONENTS } from '../stats/breakdown.js';
import { labelled, type CaseStats } from './cases.js';
import { loadCurves } from './load-curves.js';
import { sweepSummaryOf } from './run-tables.js';
import { barChart, cdfChart, lineChart, stackedBarChart, type Series } from './svg.js';
import { probesOf } from './why.js';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const kpps = (x: number) => x / 1000;

/** The charts the data supports (a chart without data is left out, never drawn empty). */
export function charts(cases: CaseStats[]): Array<{ id: string; svg: string }> {
  const out: Array<{ id: string; svg: string }> = [];
  const isTxn = (c: CaseStats) => c.workload === 'rr' || c.workload === 'crr';
  const rtt = cases.filter((c) => c.rtt && c.rtt.cdf.length && !isTxn(c));
  if (rtt.length) {
    out.push({
      id: 'rtt-cdf',
      svg: cdfChart({
        kind: 'rtt-cdf',
        title: 'RTT distribution (pooled over repeats), tail stretched',
        xLabel: 'round-trip time, µs (log scale)',
        series: rtt.map((c) => ({
          name: c.label,
          points: c.rtt!.cdf.map(([ns, p]) => [ns / 1000, p] as [number, number]),
        })),
      }),
    });
    out.push({
      id: 'rtt-p99',
      svg: barChart({
        kind: 'rtt-p99',
        title: 'RTT 99th percentile with 95 % interval',
        yLabel: 'µs',
        bars: rtt
          .filter((c) => c.rtt!.p99)
          .map((c) => ({
            label: c.label,
            value: c.rtt!.p99!.value / 1000,
            ...(c.rtt!.p99!.ci95 ? { lo: c.rtt!.p99!.ci95[0] / 1000, hi: c.rtt!.p99!.ci95[1] / 1000 } : {}),
          })),
      }),
    });
  }
  // TCP transactions: their own distribution, and the median over the number of Services behind them
  const txn = cases.filter((c) => c.rtt && c.rtt.cdf.length && isTxn(c));
  if (txn.length) {
    out.push({
      id: 'txn-cdf',
      svg: cdfChart({
        kind: 'txn-cdf',
        title: 'TCP transaction latency (pooled over repeats; crr: connect to close), tail stretched',
        xLabel: 'per transaction, µs (log scale)',
        series: txn.map((c) => ({
          name: labelled(c),
          points: c.rtt!.cdf.map(([ns, p]) => [ns / 1000, p] as [number, number]),
        })),
      }),
    });
  }
  const lines = new Map<string, Array<[number, number]>>();
  for (const c of cases.filter((x) => x.rtt?.p50)) {
    const n = (c.runs[0]!.params as { datapath?: { service?: { services?: number } } }).datapath?.service?.services;
    if (typeof n !== 'number') continue;
    const name = labelled(c).replace(/\s*services=\S+/, '');
    lines.set(name, [...(lines.get(name) ?? []), [n, c.rtt!.p50!.value / 1000]]);
  }
  const bySvc = [...lines]
    .filter(([, pts]) => pts.length > 1)
    .map(([name, pts]) => ({ name, points: pts.sort((a, b) => a[0] - b[0]) }));
  if (bySvc.length)
    out.push({
      id: 'scaling-services',
      svg: lineChart({
        kind: 'scaling-services',
        title: 'Median latency over the number of Services in the rules',
        xLabel: 'Services (log scale)',
        yLabel: 'p50, µs',
        series: bySvc,
        xLog: true,
        yMin: 0,
      }),
    });
  const overLoad = loadCurves(cases);
  if (overLoad.length)
    out.push({
      id: 'latency-over-load',
      svg: lineChart({
        kind: 'latency-over-load',
        title: "Probe RTT over the load's achieved rate (open loop; idle at 0)",
        xLabel: 'load received, kpps',
        yLabel: 'RTT, µs',
        series: overLoad,
        yMin: 0,
      }),
    });
  const sweeps = cases.filter((c) => c.workload === 'sweep');
  if (sweeps.length) {
    const series: Series[] = sweeps.map((c) => {
      const byRate = new Map<number, number[]>();
      for (const r of c.runs)
        for (const p of sweepSummaryOf(r)?.points ?? [])
          if (p.rx_pps !== null) byRate.set(p.offered_pps, [...(byRate.get(p.offered_pps) ?? []), p.rx_pps]);
      return {
        name: c.label,
        points: [...byRate].sort((a, b) => a[0] - b[0]).map(([o, rx]) => [kpps(o), kpps(mean(rx))] as [number, number]),
      };
    });
    out.push({
      id: 'rate-curves',
      svg: lineChart({
        kind: 'rate-curves',
        title: 'Received vs offered rate',
        xLabel: 'offered, kpps',
        yLabel: 'received, kpps',
        series,
        yMin: 0,
        diagonal: true,
      }),
    });
    const withMax = sweeps.filter((c) => c.max_sustained_pps);
    if (withMax.length)
      out.push({
        id: 'max-sustained',
        svg: barChart({
          kind: 'max-sustained',
          title: 'Maximum sustained rate (loss under the threshold)',
          yLabel: 'kpps',
          bars: withMax.map((c) => ({
            label: c.label,
            value: kpps(c.max_sustained_pps!.mean),
            ...(c.max_sustained_pps!.ci95
              ? { lo: kpps(c.max_sustained_pps!.ci95[0]), hi: kpps(c.max_sustained_pps!.ci95[1]) }
              : {}),
          })),
        }),
      });
  }
  const tcp = cases.filter((c) => c.rx_gbps && c.workload === 'stream' && c.api === 'tcp');
  if (tcp.length) {
    out.push({
      id: 'throughput-tcp',
      svg: barChart({
        kind: 'throughput-tcp',
        title: 'TCP throughput received (mean over repeats, 95 % CI)',
        yLabel: 'Gbit/s',
        bars: tcp.map((c) => ({
          label: c.label,
          value: c.rx_gbps!.mean,
          ...(c.rx_gbps!.ci95 ? { lo: c.rx_gbps!.ci95[0], hi: c.rx_gbps!.ci95[1] } : {}),
        })),
      }),
    });
  }
  const streams = cases.filter((c) => c.rx_pps && c.workload === 'stream' && c.api !== 'tcp');
  if (streams.length) {
    out.push({
      id: 'throughput',
      svg: barChart({
        kind: 'throughput',
        title: 'Throughput received (mean over repeats, 95 % CI)',
        yLabel: 'kpps',
        bars: streams.map((c) => ({
          label: c.label,
          value: kpps(c.rx_pps!.mean),
          ...(c.rx_pps!.ci95 ? { lo: kpps(c.rx_pps!.ci95[0]), hi: kpps(c.rx_pps!.ci95[1]) } : {}),
        })),
      }),
    });
  }
  // Scaling: the same case over flows (or pairs), one line per everything-else; UDP in kpps, TCP in Gbit/s.
  for (const [kind, group, unit, value] of [
    ['', streams, 'received, kpps', (c: CaseStats) => kpps(c.rx_pps!.mean)],
    ['-tcp', tcp, 'received, Gbit/s', (c: CaseStats) => c.rx_gbps!.mean],
  ] as const) {
    for (const axis of ['flows', 'pairs']) {
      const lines = new Map<string, Array<[number, number]>>();
      for (const c of group) {
        const params = c.runs[0]!.params as { flows?: number; datapath?: { pairs?: number } };
        const v = Number(axis === 'flows' ? params.flows : params.datapath?.pairs);
        if (!Number.isFinite(v)) continue;
        const base = c.label.replace(new RegExp(`\\s*${axis}=\\S+`), '');
        lines.set(base, [...(lines.get(base) ?? []), [v, value(c)]]);
      }
      const series = [...lines]
        .filter(([, pts]) => pts.length > 1)
        .map(([name, pts]) => ({ name, points: pts.sort((a, b) => a[0] - b[0]) }));
      if (series.length)
        out.push({
          id: `scaling-${axis}${kind}`,
          svg: lineChart({
            kind: `scaling-${axis}${kind}`,
            title: `Scaling over ${axis}${kind ? ' (TCP)' : ''}`,
            xLabel: axis,
            yLabel: unit,
            series,
            yMin: 0,
          }),
        });
    }
  }
  const probed = cases.filter((c) => c.runs.some((r) => probesOf(r)?.cpu?.all));
  if (probed.length) {
    const parts = ['usr', 'sys', 'softirq', 'irq', 'steal'] as const;
    out.push({
      id: 'cpu',
      svg: stackedBarChart({
        kind: 'cpu',
        title: 'CPU time during the run, all cores (mean over repeats)',
        yLabel: '% of CPU time',
        categories: [...parts],
        bars: probed.map((c) => ({
          label: c.label,
          parts: parts.map(
            (k) =>
              100 *
              mean(c.runs.map((r) => probesOf(r)?.cpu?.all?.[k]).filter((x): x is number => typeof x === 'number')),
          ),
        })),
      }),
    });
    const perPacket = (k: 'net_rx_softirqs_per_packet' | 'irqs_per_packet' | 'traversals_per_packet') =>
      probed
        .map((c) => ({
          label: c.label,
          value: mean(c.runs.map((r) => probesOf(r)?.[k]).filter((x): x is number => typeof x === 'number')),
        }))
        .filter((b) => Number.isFinite(b.value));
    // one bar chart per counter per packet, for the cases that have it
    const PER_PACKET = [
      [
        'net_rx_softirqs_per_packet',
        'softirqs-per-packet',
        'NET_RX softirqs per packet delivered',
        'softirqs / packet',
      ],
      ['irqs_per_packet', 'irqs-per-packet', 'Interrupts per packet delivered', 'IRQs / packet'],
      [
        'traversals_per_packet',
        'traversals',
        'Stack traversals per packet (tracepoints)',
        'netif_receive_skb / packet',
      ],
    ] as const;
    for (const [key, kind, title, yLabel] of PER_PACKET) {
      const bars = perPacket(key);
      if (bars.length) out.push({ id: kind, svg: barChart({ kind, title, yLabel, bars }) });
    }
  }
  const broken = cases.filter((c) => c.runs.some((r) => probesOf(r)?.breakdown));
  if (broken.length) {
    out.push({
      id: 'breakdown',
      svg: stackedBarChart({
        kind: 'breakdown',
        title: 'Where the round trip goes: median of each part (mean over repeats)',
        yLabel: 'µs',
        categories: [...COMPONENTS],
        bars: broken.map((c) => ({
          label: c.label,
          parts: COMPONENTS.map(
            (k) =>
              mean(
                c.runs
                  .map((r) => probesOf(r)?.breakdown?.components[k].p50)
                  .filter((x): x is number => typeof x === 'number'),
              ) / 1000,
          ),
        })),
      }),
    });
  }
  return out;
}
