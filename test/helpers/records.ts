/** Complete typed summaries for tests that only care about a few of their fields. */
import type { RttRunSummary, StreamSummary } from '../../src/workloads/results.js';

export function rttRunSummary(s: Partial<RttRunSummary> & { p50: number }): RttRunSummary {
  return {
    min: s.p50,
    mean: s.p50,
    p90: s.p50,
    p99: s.p50,
    p999: s.p50,
    p9999: s.p50,
    max: s.p50,
    stddev: 0,
    cdf: [],
    ...s,
  };
}

export function streamSummary(s: Partial<StreamSummary>): StreamSummary {
  return {
    api: 'send',
    size: 64,
    burst: 1,
    flows: 1,
    offered_pps: 0,
    tx_pps: null,
    rx_pps: null,
    rx_pps_stddev: null,
    rx_gbps: null,
    loss_ratio: 0,
    seconds: 1,
    rx_socket_drops: 0,
    path_drops: 0,
    backlog_drops: 0,
    rx_call: 'recvmsg',
    ...s,
  };
}
