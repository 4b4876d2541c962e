/**
 * A stream's result from its engines' records: steady-state rates per second (aggregated over flows),
 * sent and received, loss, the drops each place counted, and what the sender could not offer. Pure.
 */
import { dropsBetween, type DropCounters } from '../local/counters.js';
import { aggregateSeries, steadyState } from '../stats/series.js';
import type { StreamEngineRecord, StreamSeries, StreamSummary } from './results.js';
import type { Outcome } from './types.js';
import { StreamOutcome, StreamParams } from './stream-params.js';

export type StreamResultOutcome = Outcome<StreamSummary, StreamEngineRecord, StreamSeries>;

const stripEvent = <T extends { event: unknown; role: unknown }>({ event: _e, role: _r, ...rest }: T) => rest;

/** What a flow sent and what arrived: bytes for TCP (a stream has no datagrams), datagrams for UDP. */
function sentAndReceived(api: StreamParams['api'], o: StreamOutcome): [number, number] {
  return api === 'tcp' ? [o.tx.bytes, o.rx.bytes] : [o.tx.packets, o.rx.packets];
}

const lossRatio = ([sent, got]: [number, number]) => (sent > 0 ? Math.max(0, (sent - got) / sent) : 0);

/** The flows' engine results and the drop counters around them → the run's steady-state summary and series. */
export function streamOutcomeOf(
  p: Omit<StreamParams, 'durationNs'>,
  outs: StreamOutcome[],
  before: DropCounters,
  after: DropCounters,
): StreamResultOutcome {
  // One aggregate series per direction serves both the means and the stored series.
  const txSeries = aggregateSeries(outs.map((o) => o.txSeries.map(stripEvent)));
  const rxSeries = aggregateSeries(outs.map((o) => o.rxSeries.map(stripEvent)));
  const tx = steadyState(txSeries, p.warmupNs);
  const rx = steadyState(rxSeries, p.warmupNs);
  const totals = outs
    .map((o) => sentAndReceived(p.api, o))
    .reduce(([s, g], [s2, g2]) => [s + s2, g + g2] as [number, number], [0, 0] as [number, number]);
  const out = outs[0]!;
  const round = (x: number | undefined, digits = 0) =>
    x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));
  const summary: StreamSummary = {
    // as the sender ran (a DPDK datapath's engine sends with --api dpdk whatever the parameters said)
    api: out.tx.api,
    size: p.size,
    burst: p.burst,
    flows: outs.length,
    offered_pps: p.ratePps,
    tx_pps: round(tx?.pps),
    rx_pps: round(rx?.pps),
    // One steady second has no spread to speak of: not measured, not 0.
    rx_pps_stddev: rx && rx.seconds > 1 ? round(rx.pps_stddev) : null,
    rx_gbps: round(rx?.gbps, 4),
    rx_gbps_stddev: rx && rx.seconds > 1 ? round(rx.gbps_stddev, 4) : null,
    tx_gbps: round(tx?.gbps, 4),
    loss_ratio: lossRatio(totals),
    seconds: rx?.seconds ?? 0,
    rx_socket_drops: outs.reduce((a, o) => a + o.rx.socket_drops, 0),
    path_drops: dropsBetween(before.devices, after.devices),
    backlog_drops: dropsBetween(before.backlog, after.backlog),
    rx_call: out.rx.call,
    ...(out.rx.xdp_mode ? { xdp_mode: out.rx.xdp_mode } : {}),
    missed_slots: outs.reduce((a, o) => a + o.tx.missed_slots, 0),
    pace: out.tx.pace,
    spin_share: spinShare(outs.map((o) => o.tx)),
    ...(out.tx.api === 'tcp'
      ? {
          tcp_retransmits: outs.some((o) => o.tx.retransmits === undefined)
            ? null
            : outs.reduce((a, o) => a + o.tx.retransmits!, 0),
          tcp_congestion: out.tx.congestion ?? null,
          tcp_per_second: outs.flatMap((o, flow) =>
            o.txSeries.flatMap((iv) =>
              iv.cwnd === undefined
                ? []
                : [{ flow, t: iv.t, retransmits: iv.retransmits!, cwnd: iv.cwnd, srtt_us: iv.srtt_us! }],
            ),
          ),
        }
      : {}),
    ...(out.tx.sndbuf !== undefined ? { sndbuf: out.tx.sndbuf } : {}),
    ...(out.tx.zerocopy_sends !== undefined ? { tcp_zerocopy: zerocopyOf(outs.map((o) => o.tx)) } : {}),
  };
  if (outs.length > 1) {
    summary.per_flow = outs.map((o) => ({
      tx_pps: round(steadyState(o.txSeries, p.warmupNs)?.pps),
      rx_pps: round(steadyState(o.rxSeries, p.warmupNs)?.pps),
      loss_ratio: lossRatio(sentAndReceived(p.api, o)),
    }));
  }
  const noSteady = !rx
    ? `no steady-state second: make --duration at least the warm-up, rounded up to a whole second, + 1s`
    : null;
  const problems = outs.map((o, i) => (o.problem ? (outs.length > 1 ? `flow ${i}: ${o.problem}` : o.problem) : null));
  return {
    problem: [...problems, noSteady].filter(Boolean).join('; ') || null,
    samples: rx?.seconds ?? 0,
    lost: Math.max(0, totals[0] - totals[1]),
    summary,
    engine: {
      tx: stripEvent(out.tx),
      rx: stripEvent(out.rx),
      flows: outs.map((o) => ({ tx: stripEvent(o.tx), rx: stripEvent(o.rx) })),
    },
    histogram: null,
    raw: null,
    series: {
      tx: txSeries,
      rx: rxSeries,
      ...(outs.length > 1
        ? { per_flow: outs.map((o) => ({ tx: o.txSeries.map(stripEvent), rx: o.rxSeries.map(stripEvent) })) }
        : {}),
    },
  };
}

/** Refuses a raw API on a datapath whose frames cannot be addressed that way. */

/** The senders' zero-copy sends, summed over flows, and the share the kernel copied after all. */
function zerocopyOf(tx: Array<{ zerocopy_sends?: number; zerocopy_copied?: number }>): {
  sends: number;
  copied_share: number | null;
} {
  const sends = tx.reduce((a, t) => a + (t.zerocopy_sends ?? 0), 0);
  const copied = tx.reduce((a, t) => a + (t.zerocopy_copied ?? 0), 0);
  return { sends, copied_share: sends ? Number((copied / sends).toFixed(4)) : null };
}

/** The share of the senders' time their pacing spun on the clock (summed over flows), or null where unreported. */
function spinShare(tx: Array<{ spin_ns?: number; duration_ns: number }>): number | null {
  if (tx.some((t) => t.spin_ns === undefined)) return null;
  const duration = tx.reduce((a, t) => a + t.duration_ns, 0);
  return duration > 0 ? Number((tx.reduce((a, t) => a + t.spin_ns!, 0) / duration).toFixed(3)) : null;
}
