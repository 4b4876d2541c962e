/**
 * The engine's protocol, in one place: the arguments cnperf passes and the NDJSON events the
 * engine prints on stdout (engine/main.c, rtt_result.c, out.c are the other side). Every line is checked
 * against these schemas; an engine that says anything else is refused.
 */
import os from 'node:os';
import { z } from 'zod';

export * from './argv.js';
import { STREAM_APIS } from './apis.js';

const u64 = z.number().int().nonnegative();

export const HelloEvent = z.object({
  event: z.literal('hello'),
  version: z.string(),
  proto: u64,
  role: z.string(),
  pid: z.number().int(),
});

export const ReadyEvent = z.object({
  event: z.literal('ready'),
  role: z.string(),
  addr: z.string(),
  port: u64,
  /** yield: a DPDK engine that gives its CPU away between empty polls */
  wait: z.enum(['block', 'spin', 'yield']),
  cpu: z.number().int(),
  rt_prio: u64,
});

export const ErrorEvent = z.object({
  event: z.literal('error'),
  code: z.string(),
  message: z.string(),
});

export const HistogramPayload = z.object({
  sub_bits: z.number().int().min(1).max(20),
  buckets: z.array(z.tuple([u64, u64])),
});

/** What every latency client's result carries (rtt-client, rr-client): its schedule, its samples' summary and
 * histogram. */
const LatencyResultFields = {
  wait: z.enum(['block', 'spin', 'yield']),
  size: u64,
  count: u64,
  warmup: u64,
  interval_ns: u64,
  timeout_ns: u64,
  /** measured slots settled (answered or not), and those answered */
  attempted: u64,
  received: u64,
  schedule_misses: u64,
  duration_ns: u64,
  min_ns: u64,
  max_ns: u64,
  mean_ns: z.number().nullable(),
  stddev_ns: z.number().nullable(),
  hist: HistogramPayload,
  /** per 100 ms window of the slots' start times (src/stats/latency-timeline.ts) */
  timeline_window_ns: u64.optional(),
  timeline_warmup_ns: u64.optional(),
  /** CLOCK_MONOTONIC ns when the loop began */
  timeline_start_ns: u64.optional(),
  timeline_t_ns: z.array(u64).optional(),
  timeline_n: z.array(u64).optional(),
  timeline_lost: z.array(u64).optional(),
  timeline_p50_ns: z.array(u64).optional(),
  timeline_p90_ns: z.array(u64).optional(),
  timeline_p99_ns: z.array(u64).optional(),
  timeline_max_ns: z.array(u64).optional(),
};

export const RttClientResult = z.object({
  event: z.literal('result'),
  role: z.literal('rtt-client'),
  ...LatencyResultFields,
  pace: z.enum(['sleep', 'spin', 'auto', 'yield']),
  /** 'send': ping-pong, each RTT from its send; 'open-loop': probes on schedule, replies matched by sequence */
  timing: z.enum(['send', 'open-loop']),
  sent: u64,
  lost: u64,
  warmup_lost: u64,
  late: u64,
  refused: u64,
  send_errors: u64,
  recv_errors: u64,
  aborted: z.enum(['signal', 'peer-unresponsive']).nullable(),
  /** --api xdp: the round trip over AF_XDP sockets, and the mode the client's XDP program ran in */
  api: z.enum(['xdp', 'dpdk']).optional(),
  xdp_mode: z.enum(['native', 'generic']).optional(),
  /** open loop: replies seen twice, datagrams not of this run, the sender's lateness against its schedule */
  duplicates: u64.optional(),
  stray: u64.optional(),
  lateness_max_ns: u64.optional(),
  lateness_hist: HistogramPayload.optional(),
});

export const RttServerResult = z.object({
  event: z.literal('result'),
  role: z.literal('rtt-server'),
  echoed: u64,
  send_errors: u64,
  /** echoes whose timestamps were kept (breakdown mode) */
  stamped: u64,
  /** --api xdp: the mode the server's XDP program ran in */
  xdp_mode: z.enum(['native', 'generic']).optional(),
});

/** TCP transactions (engine/tcp_rr.c): rr over persistent connections, crr a connection each. */
export const RrClientResult = z.object({
  event: z.literal('result'),
  role: z.literal('rr-client'),
  mode: z.enum(['rr', 'crr']),
  /** how connections end: rr's at the end of the run (fin), crr's after each transaction (rst: no TIME_WAIT) */
  close: z.enum(['fin', 'rst']),
  ...LatencyResultFields,
  flows: u64,
  response_size: u64,
  /** transactions started, and completed (both with the warm-up) */
  issued: u64,
  completed: u64,
  /** measured transactions settled without a response */
  failed: u64,
  warmup_failed: u64,
  connect_errors: u64,
  resets: u64,
  timeouts: u64,
  io_errors: u64,
  aborted: z.enum(['signal', 'peer-unresponsive', 'io-error']).nullable(),
});

export const RrServerResult = z.object({
  event: z.literal('result'),
  role: z.literal('rr-server'),
  accepted: u64,
  served: u64,
  closed: u64,
  resets: u64,
  refused_over_limit: u64,
  errors: u64,
});

/**
 * Seed 001's ladder of kernel APIs, socket to bypass: send < sendmmsg < gso < raw < raw-mmsg < raw-ring < xdp; and
 * TCP.
 */
export const StreamApi = z.enum(STREAM_APIS);

/** Per-second counters of one end of a stream (deltas; `ns` is the exact length of the interval). */
export const IntervalEvent = z.object({
  event: z.literal('interval'),
  role: z.enum(['stream-tx', 'stream-rx']),
  t: u64,
  /** CLOCK_MONOTONIC ns at the interval's start: flows on one host share the clock */
  start: u64,
  ns: u64,
  packets: u64,
  bytes: u64,
  errors: u64,
  drops: u64,
  /** a TCP sender's second (TCP_INFO at its end): segments retransmitted in it */
  retransmits: u64.optional(),
  /** ... the congestion window, segments */
  cwnd: u64.optional(),
  /** ... the smoothed RTT, µs */
  srtt_us: u64.optional(),
});

export const StreamTxResult = z.object({
  event: z.literal('result'),
  role: z.literal('stream-tx'),
  api: StreamApi,
  size: u64,
  frame_bytes: u64,
  burst: u64,
  rate_pps: u64,
  pace: z.enum(['sleep', 'spin', 'auto', 'yield']),
  qdisc_bypass: u64,
  /** xdp: how the AF_XDP socket was bound (veth: copy mode) */
  xdp_bind: z.literal('copy').optional(),
  packets: u64,
  bytes: u64,
  errors: u64,
  short_sends: u64,
  /** paced slots skipped after the sender fell behind (a stall), instead of sent as a catch-up burst */
  missed_slots: u64,
  /** how long its waits for the next slot spun on the clock (auto, spin): the CPU pacing cost; absent before */
  spin_ns: u64.optional(),
  /** TCP: segments the sender retransmitted (TCP_INFO's total_retrans, read after the run) */
  retransmits: u64.optional(),
  /** TCP: the congestion control the connection ran */
  congestion: z.string().optional(),
  /** socket APIs: the send buffer as the kernel sized it (SO_SNDBUF, doubled from what was asked) */
  sndbuf: u64.optional(),
  /** --zerocopy: sends the kernel completed, and of those the ones it copied after all */
  zerocopy_sends: u64.optional(),
  zerocopy_copied: u64.optional(),
  duration_ns: u64,
  stopped: z.literal('signal').nullable(),
});

export const StreamRxResult = z.object({
  event: z.literal('result'),
  role: z.literal('stream-rx'),
  call: z.enum(['recvmsg', 'recvmmsg', 'recvmsg+UDP_GRO', 'read', 'TPACKET_V3', 'AF_XDP', 'rte_eth_rx_burst']),
  /** xdp: the mode the receiver's XDP program ran in (native where the driver has it) */
  xdp_mode: z.enum(['native', 'generic']).optional(),
  packets: u64,
  bytes: u64,
  duration_ns: u64,
  socket_drops: u64,
  /** -1: not available (TCP, or /proc/net/snmp unreadable) */
  snmp_rcvbuf_errors: z.number().int(),
  snmp_in_errors: z.number().int(),
  rcvbuf: u64,
});

export const CalibrateClockResult = z.object({
  event: z.literal('result'),
  role: z.literal('calibrate-clock'),
  reads: u64,
  monotonic_ns: z.number(),
  realtime_ns: z.number(),
});

export const CalibrateTimerResult = z.object({
  event: z.literal('result'),
  role: z.literal('calibrate-timer'),
  interval_ns: u64,
  wakeups: u64,
  max_ns: u64,
  hist: HistogramPayload,
});

export const CalibrateNoiseResult = z.object({
  event: z.literal('result'),
  role: z.literal('calibrate-noise'),
  duration_ns: u64,
  threshold_ns: u64,
  gaps: u64,
  stolen_ns: u64,
  max_ns: u64,
  hist: HistogramPayload,
});

export const EngineEvent = z.union([
  HelloEvent,
  ReadyEvent,
  ErrorEvent,
  IntervalEvent,
  RttClientResult,
  RttServerResult,
  RrClientResult,
  RrServerResult,
  StreamTxResult,
  StreamRxResult,
  CalibrateClockResult,
  CalibrateTimerResult,
  CalibrateNoiseResult,
]);
export type CalibrateClockResult = z.infer<typeof CalibrateClockResult>;
export type CalibrateTimerResult = z.infer<typeof CalibrateTimerResult>;
export type CalibrateNoiseResult = z.infer<typeof CalibrateNoiseResult>;

export type HelloEvent = z.infer<typeof HelloEvent>;
export type ReadyEvent = z.infer<typeof ReadyEvent>;
export type ErrorEvent = z.infer<typeof ErrorEvent>;
export type RttClientResult = z.infer<typeof RttClientResult>;
export type RttServerResult = z.infer<typeof RttServerResult>;
export type RrClientResult = z.infer<typeof RrClientResult>;
export type RrServerResult = z.infer<typeof RrServerResult>;
export type EngineEvent = z.infer<typeof EngineEvent>;
export type StreamApi = z.infer<typeof StreamApi>;
export type IntervalEvent = z.infer<typeof IntervalEvent>;
export type StreamTxResult = z.infer<typeof StreamTxResult>;
export type StreamRxResult = z.infer<typeof StreamRxResult>;

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(`${message}: ${line.length > 200 ? line.slice(0, 200) + '…' : line}`);
    this.name = 'ProtocolError';
  }
}

/** Parses one stdout line of the engine. Throws ProtocolError on anything not in the contract. */
export function parseEngineLine(line: string): EngineEvent {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new ProtocolError('engine printed a line that is not JSON', line);
  }
  const r = EngineEvent.safeParse(json);
  if (!r.success) {
    const ev = typeof json === 'object' && json !== null ? (json as { event?: unknown }).event : undefined;
    throw new ProtocolError(`engine event ${JSON.stringify(ev)} does not match the protocol`, line);
  }
  return r.data;
}

/** Reads the engine's raw sample file: "CNPRAW01", u64 n, n × i64 RTT ns (-1 = lost). */
export function parseRawSamples(buf: Buffer): BigInt64Array {
  if (buf.length < 16 || buf.subarray(0, 8).toString('latin1') !== 'CNPRAW01')
    throw new Error('not a cnperf raw sample file');
  const n = Number(buf.readBigUInt64LE(8));
  if (buf.length !== 16 + n * 8) throw new Error(`raw sample file holds ${buf.length - 16} bytes, expected ${n * 8}`);
  // the file's own bytes, not a copy, where they are aligned and little-endian as this machine (10^8
  // samples are 800 MB: read one by one, they held the event loop for seconds)
  if ((buf.byteOffset + 16) % 8 === 0 && os.endianness() === 'LE')
    return new BigInt64Array(buf.buffer, buf.byteOffset + 16, n);
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readBigInt64LE(16 + i * 8);
  return out;
}

/** Raw samples as the store keeps them: their bytes, little-endian int64 (only the samples', never the file's header).
 * */
export function rawBlob(samples: BigInt64Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** A stamps file (engine/stamps.h): rows of STAMP_FIELDS int64 ns, row i for sequence number i, 0 = missing. */
export interface StampRows {
  rows: number;
  fields: number;
  data: BigInt64Array;
}

export function parseStamps(buf: Buffer): StampRows {
  if (buf.length < 24 || buf.subarray(0, 8).toString('latin1') !== 'CNPSTMP1')
    throw new Error('not a cnperf timestamp file');
  const rows = Number(buf.readBigUInt64LE(8));
  const fields = Number(buf.readBigUInt64LE(16));
  if (buf.length !== 24 + rows * fields * 8)
    throw new Error(`timestamp file holds ${buf.length - 24} bytes, expected ${rows * fields * 8}`);
  const data = new BigInt64Array(rows * fields);
  for (let i = 0; i < data.length; i++) data[i] = buf.readBigInt64LE(24 + i * 8);
  return { rows, fields, data };
}
