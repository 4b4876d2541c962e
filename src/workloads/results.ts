/**
 * The typed results of every workload, as stored (src/store/db.ts) and read back: a run record's
 * summary, engine counters and series are one of these, keyed by its workload.
 */
import type { RrClientResult, RttClientResult, StreamRxResult, StreamTxResult } from '../engine-client/protocol.js';
import type { Interval } from '../stats/series.js';
import type { EngineTimelineFields, LatencyTimeline } from '../stats/latency-timeline.js';
import type { RttSummary } from '../stats/summary.js';

/** An rtt run's summary: the `rtt_ns` percentiles, the CDF, and with several pairs what each saw. */
export interface RttRunSummary extends RttSummary {
  cdf: Array<[number, number]>;
  /** open loop: how late the sender was against its schedule (not part of any RTT) */
  lateness_ns?: { p50: number; p99: number; max: number };
  pairs?: number;
  per_pair_p50_ns?: Array<number | null>;
}

/** The rtt engine's counters: the client's result without its histogram, and what the server echoed. */
export type RttEngineRecord = Omit<
  RttClientResult,
  'hist' | 'lateness_hist' | 'event' | 'role' | keyof EngineTimelineFields
> & {
  server_echoed: number | null;
};

/** The `stream` object of the JSON contract: steady-state means, plus what explains them. */
export interface StreamSummary {
  api: string;
  size: number;
  burst: number;
  flows: number;
  offered_pps: number;
  tx_pps: number | null;
  rx_pps: number | null;
  rx_pps_stddev: number | null;
  /** payload (UDP) or bytes read (TCP) per second, Gbit/s: TCP's primary figure */
  rx_gbps: number | null;
  rx_gbps_stddev?: number | null;
  tx_gbps?: number | null;
  loss_ratio: number;
  seconds: number;
  /** drops the receiving socket reported (receive buffer full: SO_RXQ_OVFL) */
  rx_socket_drops: number;
  /** drops counted by the datapath's devices during the run (e.g. a veth's full backlog); null: unreadable */
  path_drops: number | null;
  /** drops in the per-CPU input backlog during the run (host-wide counter); null: unreadable */
  backlog_drops: number | null;
  rx_call: string;
  /** xdp: the mode the receiver's XDP program ran in ("native" or "generic") */
  xdp_mode?: string;
  /** paced send slots the sender skipped after falling behind (a stall); absent in older runs */
  missed_slots?: number;
  /** how the sender waited for its slots, and the share of its time that spun on the clock (null: not reported) */
  pace?: string;
  spin_share?: number | null;
  /** TCP: segments the senders retransmitted over the whole run (TCP_INFO), summed over flows */
  tcp_retransmits?: number | null;
  /** TCP: the congestion control the connection ran (as the kernel said after the run) */
  tcp_congestion?: string | null;
  /** TCP: each sender's seconds, as iperf3 prints them: retransmits in the second, cwnd (segments) and smoothed
   * RTT at its end (TCP_INFO) */
  tcp_per_second?: Array<{ flow: number; t: number; retransmits: number; cwnd: number; srtt_us: number }>;
  /** socket APIs: the first sender's send buffer as the kernel sized it (SO_SNDBUF) */
  sndbuf?: number;
  /** --zerocopy: the senders' MSG_ZEROCOPY sends the kernel completed, and the share it copied after all (a local
   * receiver always makes it copy) */
  tcp_zerocopy?: { sends: number; copied_share: number | null };
  /** with several flows: each flow's steady-state rates */
  per_flow?: Array<{ tx_pps: number | null; rx_pps: number | null; loss_ratio: number }>;
}

/** A latency run's series: its 100 ms windows (one timeline per pair when it measured several in turn). */
export interface LatencySeries {
  latency: LatencyTimeline | null;
  per_pair?: Array<LatencyTimeline | null>;
}

/** One second of a stream's series (the flows' seconds added up for the aggregate). */
export type IntervalPoint = Interval;
export interface StreamSeries {
  tx: IntervalPoint[];
  rx: IntervalPoint[];
  per_flow?: Array<{ tx: IntervalPoint[]; rx: IntervalPoint[] }>;
}
type Stripped<T> = Omit<T, 'event' | 'role'>;
export interface StreamEngineRecord {
  tx: Stripped<StreamTxResult>;
  rx: Stripped<StreamRxResult>;
  flows: Array<{ tx: Stripped<StreamTxResult>; rx: Stripped<StreamRxResult> }>;
}

export interface SweepPoint {
  offered_pps: number;
  tx_pps: number | null;
  rx_pps: number | null;
  loss_ratio: number;
  /** the sender fell short of the offered rate (null: its rate was not measured): never "sustained" */
  sender_limited: boolean | null;
}

/** The `sweep` object of the JSON contract. */
export interface SweepSummary {
  api: string;
  size: number;
  burst: number;
  flows: number;
  loss_threshold: number;
  /** the fraction below the offered rate at which a point counts as sender-limited */
  sender_limit?: number;
  points: SweepPoint[];
  /** the received rate at the highest offered rate the sender reached with loss under the threshold; null if none */
  max_sustained_pps: number | null;
  /** that point's offered rate */
  max_sustained_offered_pps?: number | null;
}
export type SweepSeries = Array<{ offered_pps: number } & StreamSeries>;

/** Where the probe's and the load's engines run, and what shares a CPU (null: nothing). */
export interface LoadPlacement {
  probe_client: number;
  probe_server: number;
  load_sender: number;
  load_receiver: number;
  shared: string | null;
}

/** A load run: the probe's RTT percentiles (absent when no probe came back), and the load beside them. */
export interface LoadSummary extends Partial<RttSummary> {
  cdf?: Array<[number, number]>;
  lateness_ns?: { p50: number; p99: number; max: number };
  stream: StreamSummary | null;
  /** the worst RTTs, [ns, sequence number], largest first */
  worst: Array<[number, number]>;
  /** 'open-loop' (this cnperf); runs stored by older versions say 'planned' (closed loop, from planned send times) */
  timing: 'open-loop' | 'planned';
  /** where the probe and the load ran (absent in older runs) */
  placement?: LoadPlacement;
  /** the load level as asked: idle, max or a rate (absent in older runs: the one rate of --rate) */
  level?: string;
}
export interface LoadEngineRecord {
  probe: RttEngineRecord | null;
  load: StreamEngineRecord | null;
}

/** An rr or crr run's summary: the transactions' latency percentiles (`rtt_ns`) and their rate. */
export interface RrSummary extends RttSummary {
  cdf: Array<[number, number]>;
  /** completed transactions (warm-up included) per second of the client's run */
  transactions_per_s: number | null;
  mode: 'rr' | 'crr';
  flows: number;
}

/** The rr engine's counters: the client's result without its histogram, the rate, and what the server saw. */
export type RrEngineRecord = Omit<RrClientResult, 'hist' | 'event' | 'role' | keyof EngineTimelineFields> & {
  transactions_per_s: number | null;
  server: { accepted: number; served: number; resets: number; errors: number } | null;
};

/** What a run measured, keyed by its workload. */
export type WorkloadResult =
  | {
      workload: 'rtt';
      summary: RttRunSummary | null;
      engine: RttEngineRecord | { pairs: RttEngineRecord[] } | null;
      series: LatencySeries | null;
    }
  | {
      workload: 'stream';
      summary: StreamSummary | null;
      engine: StreamEngineRecord | null;
      series: StreamSeries | null;
    }
  | { workload: 'sweep'; summary: SweepSummary | null; engine: null; series: SweepSeries | null }
  | { workload: 'load'; summary: LoadSummary | null; engine: LoadEngineRecord | null; series: StreamSeries | null }
  | { workload: 'rr'; summary: RrSummary | null; engine: RrEngineRecord | null; series: LatencySeries | null }
  | { workload: 'crr'; summary: RrSummary | null; engine: RrEngineRecord | null; series: LatencySeries | null };

export type WorkloadName = WorkloadResult['workload'];

/** The `rtt_ns` object of a summary that carries RTT percentiles (copied field by field). */
export function rttFields(s: Partial<RttSummary>): RttSummary | null {
  if (s.p50 === undefined || s.min === undefined || s.max === undefined) return null;
  return {
    min: s.min,
    mean: s.mean ?? NaN,
    p50: s.p50,
    p90: s.p90 ?? NaN,
    p99: s.p99 ?? NaN,
    p999: s.p999 ?? NaN,
    p9999: s.p9999 ?? NaN,
    max: s.max,
    stddev: s.stddev ?? NaN,
  };
}
