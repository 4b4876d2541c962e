/**
 * What a stream is asked for (its parameters and their defaults) and what its engines give back.
 */
import {
  type IntervalEvent,
  type PaceMode,
  type StreamApi,
  type StreamRxResult,
  type StreamTxResult,
  type WaitMode,
} from '../engine-client/protocol.js';

export interface StreamParams {
  api: StreamApi;
  /** UDP payload bytes (TCP: bytes per write) */
  size: number;
  /** --api xdp: UMEM frames and ring entries */
  xdp?: { frames?: number; ring?: number };
  /** datagrams per send call (sendmmsg, raw-mmsg, raw-ring, xdp) or per paced burst */
  burst: number;
  /** offered packets per second; 0 = as fast as possible */
  ratePps: number;
  durationNs: number;
  /** the first part of the run, excluded from the steady-state means */
  warmupNs: number;
  pace: PaceMode;
  wait: WaitMode;
  cpus?: [number, number];
  rtPrio?: number;
  qdiscBypass: boolean;
  /** the receiver's socket buffer (SO_RCVBUFFORCE bytes); absent: the kernel's default */
  rcvbuf?: number;
  /** the sender's socket buffer (SO_SNDBUFFORCE bytes); absent: the kernel's default */
  sndbuf?: number;
  /** --zerocopy: a TCP stream sends with MSG_ZEROCOPY */
  zerocopy?: boolean;
  /** --live / -i: print a line every this many seconds while it runs (presentation: not stored) */
  liveEverySeconds?: number;
  /** --congestion: a TCP stream's congestion control (absent: the kernel's default) */
  congestion?: string;
  /** sender/receiver pairs at once, each in its own namespaces where the datapath allows */
  flows: number;
  /** --burst was given (else the datapath's defaultBurst, if it has one: a DPDK datapath sends bursts of 32) */
  burstGiven?: boolean;
}

export const STREAM_DEFAULTS: StreamParams = {
  flows: 1,
  api: 'send',
  size: 64,
  burst: 1,
  ratePps: 0,
  durationNs: 10e9,
  warmupNs: 2e9,
  // a sleeping sender at 50 µs slots woke late enough to send 15–40 % below the rate (issue 33): sleep to a
  // margin before each slot, then spin to it
  pace: 'auto',
  wait: 'block',
  qdiscBypass: false,
};

/** --api xdp's batch when --burst is not given: what one sendto() transmits in copy mode. */
export const XDP_DEFAULT_BURST = 32;

/** The largest UDP payload a raw frame carries at the datapaths' MTU of 1500. */
export const RAW_MAX_PAYLOAD = 1500 - 28;

export interface StreamOutcome {
  tx: StreamTxResult;
  rx: StreamRxResult;
  txSeries: IntervalEvent[];
  rxSeries: IntervalEvent[];
  problem: string | null;
}
